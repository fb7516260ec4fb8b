// callerid.mjs makes one STS GetCallerIdentity call with the AWS SDK for
// JavaScript v3 and prints {"Arn", "Account", "UserId"} as one JSON line on
// stdout. On failure it prints the error as Node.js prints an uncaught one
// (util.inspect: message plus the error's own properties, such as the Code
// and Message of a container endpoint's error body) on stderr and exits 1.
// cmd/awsoidc/interop_test.go runs it.
//
//	node callerid.mjs MODE ENDPOINT
//
// MODE chooses the credentials:
//   process  fromProcess({profile: AWS_PROFILE}): the profile's credential_process
//   http     fromHttp(): AWS_CONTAINER_CREDENTIALS_FULL_URI and
//            AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE)
//   default  the SDK's default chain, as `new STSClient({})` gets it
// ENDPOINT is the STS endpoint URL; the region is us-east-1.
import { inspect } from "node:util";
import { STSClient, GetCallerIdentityCommand } from "@aws-sdk/client-sts";
import { fromHttp, fromProcess } from "@aws-sdk/credential-providers";

const [mode, endpoint] = process.argv.slice(2);
const credentials = {
  process: () => fromProcess({ profile: process.env.AWS_PROFILE }),
  http: () => fromHttp(),
  default: () => undefined,
}[mode];
if (!credentials || !endpoint) {
  console.error("usage: node callerid.mjs process|http|default ENDPOINT");
  process.exit(2);
}

try {
  const client = new STSClient({ region: "us-east-1", endpoint, credentials: credentials() });
  const out = await client.send(new GetCallerIdentityCommand({}));
  console.log(JSON.stringify({ Arn: out.Arn, Account: out.Account, UserId: out.UserId }));
} catch (err) {
  console.error(inspect(err));
  process.exitCode = 1;
}
