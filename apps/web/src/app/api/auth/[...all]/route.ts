import { toNextJsHandler } from "better-auth/next-js";
import { getAuth } from "~/server/auth";

export const runtime = "nodejs";
export const dynamic = "force-dynamic";

const handle = (req: Request) => toNextJsHandler(getAuth()).POST(req);
const handleGet = (req: Request) => toNextJsHandler(getAuth()).GET(req);

export { handleGet as GET, handle as POST };
