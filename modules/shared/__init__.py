"""Parts several constructs use (no feature module should import another for a helper): IAM
policy documents here; more move in as they are untangled from the feature modules."""
