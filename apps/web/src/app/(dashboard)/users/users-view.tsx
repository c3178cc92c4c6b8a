"use client";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useId, useState } from "react";
import { Dialog } from "~/components/dialog";
import { errorText, QueryError } from "~/components/errors";
import { formatDateTime } from "~/lib/format";
import { useTRPC, type RouterOutputs } from "~/trpc/react";

type Role = "viewer" | "operator" | "admin";
const ROLES: readonly Role[] = ["viewer", "operator", "admin"];
type User = RouterOutputs["users"]["list"][number];

export function UsersView() {
  const trpc = useTRPC();
  const qc = useQueryClient();
  const list = useQuery(trpc.users.list.queryOptions());
  const refresh = () => qc.invalidateQueries({ queryKey: trpc.users.list.queryKey() });
  const setRole = useMutation(trpc.users.setRole.mutationOptions({ onSuccess: refresh }));
  const remove = useMutation(trpc.users.remove.mutationOptions({ onSuccess: refresh }));
  const [removing, setRemoving] = useState<User | null>(null);
  const err = setRole.error ?? remove.error;
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Users</h1>
          <p>
            Viewers read; operators also change the gateway and handle incidents; admins also manage
            users. A role change signs the user out everywhere.
          </p>
        </div>
      </div>
      {list.error && <QueryError error={list.error} />}
      {err && <QueryError error={err} />}
      <div className="grid-2" style={{ gridTemplateColumns: "2fr 1fr", alignItems: "start" }}>
        <section className="panel" aria-labelledby="users-h">
          <h2 id="users-h">People</h2>
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Email</th>
                  <th scope="col">Name</th>
                  <th scope="col">Role</th>
                  <th scope="col">Created</th>
                  <th scope="col">
                    <span className="muted">Action</span>
                  </th>
                </tr>
              </thead>
              <tbody>
                {list.data?.map((u) => (
                  <tr key={u.id}>
                    <td>
                      {u.email} {u.isSelf && <span className="muted small">(you)</span>}
                    </td>
                    <td>{u.name}</td>
                    <td>
                      <select
                        aria-label={`Role of ${u.email}`}
                        value={u.role ?? ""}
                        disabled={setRole.isPending || u.isSelf}
                        onChange={(e) =>
                          setRole.mutate({ userId: u.id, role: e.target.value as Role })
                        }
                      >
                        {u.role === null && <option value="">unknown</option>}
                        {ROLES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    </td>
                    <td className="small">{formatDateTime(new Date(u.createdAt).getTime())}</td>
                    <td>
                      <button
                        type="button"
                        disabled={u.isSelf}
                        aria-label={`Remove ${u.email}`}
                        onClick={() => setRemoving(u)}
                      >
                        Remove
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
        <CreateUser onCreated={refresh} />
      </div>
      <Dialog
        open={removing !== null}
        title={`Remove ${removing?.email ?? ""}?`}
        onClose={() => setRemoving(null)}
      >
        <p>
          Their sessions end at once and they can no longer sign in. The audit log keeps their past
          actions.
        </p>
        <div className="actions">
          <button type="button" onClick={() => setRemoving(null)}>
            Cancel
          </button>
          <button
            type="button"
            className="danger"
            disabled={remove.isPending}
            onClick={() => {
              if (removing)
                remove.mutate({ userId: removing.id }, { onSettled: () => setRemoving(null) });
            }}
          >
            Remove user
          </button>
        </div>
      </Dialog>
    </>
  );
}

function CreateUser({ onCreated }: { onCreated: () => void }) {
  const trpc = useTRPC();
  const ids = { email: useId(), name: useId(), password: useId(), role: useId() };
  const [form, setForm] = useState({ email: "", name: "", password: "", role: "viewer" as Role });
  const [done, setDone] = useState<string | null>(null);
  const create = useMutation(
    trpc.users.create.mutationOptions({
      onSuccess: () => {
        setDone(form.email);
        setForm({ email: "", name: "", password: "", role: "viewer" });
        onCreated();
      },
    }),
  );
  return (
    <section className="panel" aria-labelledby="create-h">
      <h2 id="create-h">Add a user</h2>
      <form
        className="stack"
        onSubmit={(e) => {
          e.preventDefault();
          setDone(null);
          create.mutate(form);
        }}
      >
        <div className="field">
          <label htmlFor={ids.email}>Email</label>
          <input
            id={ids.email}
            type="email"
            required
            value={form.email}
            onChange={(e) => setForm({ ...form, email: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.name}>Name</label>
          <input
            id={ids.name}
            required
            value={form.name}
            onChange={(e) => setForm({ ...form, name: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.password}>Initial password</label>
          <input
            id={ids.password}
            type="password"
            autoComplete="new-password"
            required
            minLength={8}
            value={form.password}
            onChange={(e) => setForm({ ...form, password: e.target.value })}
          />
        </div>
        <div className="field">
          <label htmlFor={ids.role}>Role</label>
          <select
            id={ids.role}
            value={form.role}
            onChange={(e) => setForm({ ...form, role: e.target.value as Role })}
          >
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {r}
              </option>
            ))}
          </select>
        </div>
        {create.error && (
          <div role="alert" className="alert error">
            {errorText(create.error)}
          </div>
        )}
        {done && (
          <p role="status" className="alert ok">
            Created {done}.
          </p>
        )}
        <div className="actions">
          <button type="submit" className="primary" disabled={create.isPending}>
            Create user
          </button>
        </div>
      </form>
    </section>
  );
}
