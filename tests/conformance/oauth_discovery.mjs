// openid-client against a live extapi, configured by discovery alone (RFC 8414).
// Usage: node oauth_discovery.mjs BASE_URL CLIENT_ID CLIENT_SECRET post|basic
// Prints one JSON object describing each step; exits non-zero on any library error.
import * as client from 'openid-client'

const [base, clientId, clientSecret, method] = process.argv.slice(2)
const auth = method === 'basic' ? client.ClientSecretBasic(clientSecret) : client.ClientSecretPost(clientSecret)

const config = await client.discovery(new URL(base), clientId, undefined, auth, {
  algorithm: 'oauth2', // /.well-known/oauth-authorization-server, not the OpenID one
  execute: [client.allowInsecureRequests], // the test server speaks plain HTTP on loopback
})

async function status(token) {
  const response = await client.fetchProtectedResource(
    config,
    token,
    new URL('/api/graphql.php', base),
    'POST',
    JSON.stringify({ query: '{ totara_webapi_status { status } }' }),
    new Headers({ 'content-type': 'application/json' }),
  )
  return await response.json()
}

// A refused token comes back with a Bearer challenge, which the library raises as an error.
async function refusal(token) {
  try {
    return { answer: await status(token) }
  } catch (error) {
    if (error.code !== 'OAUTH_WWW_AUTHENTICATE_CHALLENGE') throw error
    return { status: error.status, challenges: error.cause }
  }
}

const metadata = config.serverMetadata()
const tokens = await client.clientCredentialsGrant(config)
const result = {
  issuer: metadata.issuer,
  token_type: tokens.token_type,
  expires_in: tokens.expires_in,
  status_before: await status(tokens.access_token),
  introspection_before: await client.tokenIntrospection(config, tokens.access_token),
}
await client.tokenRevocation(config, tokens.access_token)
result.introspection_after = await client.tokenIntrospection(config, tokens.access_token)
result.status_after = await refusal(tokens.access_token)
console.log(JSON.stringify(result))
