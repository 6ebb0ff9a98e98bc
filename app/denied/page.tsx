import Link from 'next/link';

export default function Denied() {
  return (
    <main>
      <h1>Not allowed</h1>
      <p>Your role does not allow this page. <Link href="/">Back to the dashboard</Link>.</p>
    </main>
  );
}
