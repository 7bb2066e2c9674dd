"use client";

/**
 * Beside a connect button: the provider's optional scopes as checkboxes, folded away. What is
 * ticked is asked for on top of the provider's configured scopes; the service checks it again.
 * A provider declaring none shows nothing.
 */
export function ExtraScopes({ id, optional, chosen, onChange }: { id: string; optional: readonly string[]; chosen: readonly string[]; onChange: (next: string[]) => void }) {
  if (optional.length === 0) return null;
  return (
    <details className="extra-scopes" data-testid={`extra-scopes-${id}`}>
      <summary>Extra scopes{chosen.length > 0 ? ` (${chosen.length})` : ""}</summary>
      {optional.map((scope) => (
        <label key={scope}>
          <input
            type="checkbox"
            value={scope}
            checked={chosen.includes(scope)}
            onChange={(e) => onChange(e.target.checked ? [...chosen, scope] : chosen.filter((s) => s !== scope))}
          />{" "}
          <code>{scope}</code>
        </label>
      ))}
    </details>
  );
}
