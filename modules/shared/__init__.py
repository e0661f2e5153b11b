"""Parts several constructs use (no feature module should import another for a helper): the
stack foundation, the input checks the props share (``validation``), IAM policy documents; more
move in as they are untangled from the feature modules."""
