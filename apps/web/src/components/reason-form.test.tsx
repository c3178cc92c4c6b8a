// @vitest-environment jsdom
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ReasonForm } from "./reason-form";

afterEach(cleanup);

describe("ReasonForm", () => {
  it("keeps confirm disabled until a reason is typed, then sends reason and expiry", () => {
    const onConfirm = vi.fn();
    render(<ReasonForm confirmLabel="Switch to read-only" onConfirm={onConfirm} />);
    const confirm = screen.getByRole("button", { name: "Switch to read-only" });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);

    fireEvent.change(screen.getByLabelText("Reason"), { target: { value: "   " } });
    expect((confirm as HTMLButtonElement).disabled).toBe(true);

    fireEvent.change(screen.getByLabelText("Reason"), { target: { value: " payments outage " } });
    fireEvent.change(screen.getByLabelText("Expires after"), { target: { value: "2" } });
    fireEvent.click(confirm);
    expect(onConfirm).toHaveBeenCalledWith({ reason: "payments outage", ttlMs: 3_600_000 });
  });

  it("omits ttl without expiry and shows the server's error", () => {
    const onConfirm = vi.fn();
    render(
      <ReasonForm
        confirmLabel="Apply"
        defaultReason="drill"
        error="routes.x.mode: invalid"
        onConfirm={onConfirm}
      />,
    );
    expect(screen.getByRole("alert").textContent).toBe("routes.x.mode: invalid");
    fireEvent.click(screen.getByRole("button", { name: "Apply" }));
    expect(onConfirm).toHaveBeenCalledWith({ reason: "drill" });
  });
});
