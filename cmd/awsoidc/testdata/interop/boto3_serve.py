"""boto3_serve.py: boto3 against a container-credentials endpoint, in one process.

cmd/awsoidc/interop_test.go runs it with AWS_CONTAINER_CREDENTIALS_FULL_URI and
AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE) from `awsoidc serve`:

    python3 boto3_serve.py ENDPOINT N

It makes N STS GetCallerIdentity calls with one client and prints
{"arns": [...]} (the distinct ARNs) as one JSON line. Then it reads one line
from stdin (the test stops serve meanwhile) and makes one more call with the
same client, printing {"arn": ...} or {"error": ...}; exit status 1 on error.
"""

import json
import sys

import boto3

endpoint, n = sys.argv[1], int(sys.argv[2])
sts = boto3.session.Session().client("sts", region_name="us-east-1", endpoint_url=endpoint)
arns = sorted({sts.get_caller_identity()["Arn"] for _ in range(n)})
print(json.dumps({"arns": arns}), flush=True)

sys.stdin.readline()
try:
    print(json.dumps({"arn": sts.get_caller_identity()["Arn"]}), flush=True)
except Exception as err:  # noqa: BLE001: the test reads whatever botocore raised
    print(json.dumps({"error": "%s: %s" % (type(err).__name__, err)}), flush=True)
    sys.exit(1)
