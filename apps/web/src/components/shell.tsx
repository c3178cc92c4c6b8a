"use client";
import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useState, type ReactNode } from "react";
import { signOut } from "~/lib/auth-client";
import { SessionProvider, type SessionInfo } from "./session";

const NAV: { href: string; label: string; admin?: boolean }[] = [
  { href: "/", label: "Overview" },
  { href: "/upstreams", label: "Upstreams" },
  { href: "/controls", label: "Controls" },
  { href: "/runbooks", label: "Runbooks" },
  { href: "/incidents", label: "Incidents" },
  { href: "/audit", label: "Audit" },
  { href: "/users", label: "Users", admin: true },
];

function isActive(pathname: string, href: string): boolean {
  return href === "/" ? pathname === "/" : pathname === href || pathname.startsWith(`${href}/`);
}

export function Shell({ session, children }: { session: SessionInfo; children: ReactNode }) {
  const pathname = usePathname();
  const router = useRouter();
  const [leaving, setLeaving] = useState(false);
  return (
    <SessionProvider value={session}>
      <div className="shell">
        <aside className="sidebar">
          <div className="sidebar-inner">
            <div className="brand">
              <span aria-hidden="true" className="brand-mark" /> Resilience Gateway
            </div>
            <nav aria-label="Main" className="nav">
              {NAV.filter((n) => !n.admin || session.role === "admin").map((n) => (
                <Link
                  key={n.href}
                  href={n.href}
                  aria-current={isActive(pathname, n.href) ? "page" : undefined}
                >
                  {n.label}
                </Link>
              ))}
            </nav>
            <div className="whoami">
              <span className="email" title={session.email}>
                {session.email}
              </span>
              <span>
                Role: <strong>{session.role}</strong>
              </span>
              <button
                type="button"
                className="ghost"
                disabled={leaving}
                onClick={async () => {
                  setLeaving(true);
                  await signOut();
                  router.replace("/sign-in");
                  router.refresh();
                }}
              >
                Sign out
              </button>
            </div>
          </div>
        </aside>
        <main className="main">{children}</main>
      </div>
    </SessionProvider>
  );
}
