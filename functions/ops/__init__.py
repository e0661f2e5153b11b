"""``ses-ops``: the operators' console (suppression cleanup, DNS doctor). Standard library + boto3."""
