-- AlterTable
ALTER TABLE "Source" ADD COLUMN     "walArchivedAt" TIMESTAMP(3);
