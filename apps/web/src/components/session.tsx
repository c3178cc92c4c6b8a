"use client";
import { createContext, useContext, type ReactNode } from "react";

export type Role = "viewer" | "operator" | "admin";

export interface SessionInfo {
  email: string;
  name: string;
  role: Role;
}

const SessionContext = createContext<SessionInfo | null>(null);

export function SessionProvider({ value, children }: { value: SessionInfo; children: ReactNode }) {
  return <SessionContext.Provider value={value}>{children}</SessionContext.Provider>;
}

export function useSessionInfo(): SessionInfo | null {
  return useContext(SessionContext);
}

const RANK: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

/** Whether the signed-in user may act (the server enforces it again on every call). */
export function useCan(minimum: Role): boolean {
  const s = useContext(SessionContext);
  return s !== null && RANK[s.role] >= RANK[minimum];
}
