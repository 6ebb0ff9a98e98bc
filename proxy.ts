// Sends signed-out visitors of console pages to /login. Authorisation (roles) is checked again by every
// page and route handler on the server; this only spares them a render for anonymous visitors.
import { withAuth } from 'next-auth/middleware';

export default withAuth({ pages: { signIn: '/login' } });

export const config = { matcher: ['/((?!login|api|_next|favicon.ico).*)'] };
