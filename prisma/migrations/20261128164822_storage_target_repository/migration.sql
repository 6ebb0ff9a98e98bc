-- AlterTable
ALTER TABLE "StorageTarget" ADD COLUMN     "repositoryId" TEXT,
ADD COLUMN     "repositoryPasswordEnc" TEXT;
