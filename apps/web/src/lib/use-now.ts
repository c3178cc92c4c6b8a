"use client";
import { useEffect, useState } from "react";

/** The wall clock, re-read every `everyMs`, so "12 s ago" keeps counting between polls. */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const id = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(id);
  }, [everyMs]);
  return now;
}
