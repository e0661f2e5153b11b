"""Runtime code shared by the Lambda jobs: standard library and boto3 only."""
