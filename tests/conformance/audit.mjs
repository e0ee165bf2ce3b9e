// Run the graphql-http GraphQL-over-HTTP server audits against a live endpoint.
//
// Usage: node audit.mjs <graphql-url> <bearer-token>
//    or: GRAPHQL_URL=... GRAPHQL_TOKEN=... node audit.mjs
//
// Prints one JSON line per audit: {"id", "name", "status", "reason"}, where status is what
// graphql-http reports ('ok' | 'notice' | 'warn' | 'error'; reason is null when ok). An audit
// that throws instead of reporting (graphql-http treats that as fatal) is printed with status
// 'error' and the thrown message as its reason, so nothing is silently dropped. Exits 0 once
// every audit has run; a non-zero exit means the script itself could not run.
import { serverAudits } from 'graphql-http';

const url = process.argv[2] ?? process.env.GRAPHQL_URL;
const token = process.argv[3] ?? process.env.GRAPHQL_TOKEN;
if (!url || !token) {
  console.error('usage: node audit.mjs <graphql-url> <bearer-token>');
  process.exit(2);
}

/** The audit's own headers, in whatever form it passed them, plus our Authorization. */
function withAuthorization(headers) {
  const merged = new Headers(headers ?? undefined);
  merged.set('Authorization', `Bearer ${token}`);
  return merged;
}

async function fetchFn(input, init) {
  if (input instanceof Request) {
    const headers = withAuthorization(init?.headers ?? input.headers);
    return fetch(new Request(input, { ...init, headers }));
  }
  return fetch(input, { ...init, headers: withAuthorization(init?.headers) });
}

for (const audit of serverAudits({ url, fetchFn })) {
  let line;
  try {
    const result = await audit.fn();
    line = {
      id: result.id,
      name: result.name,
      status: result.status,
      reason: result.status === 'ok' ? null : result.reason,
    };
  } catch (err) {
    line = {
      id: audit.id,
      name: audit.name,
      status: 'error',
      reason: `audit threw: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
process.exit(0);
