"""Golden case: the policy.json here renders to expected.py and expected.pyi byte for byte."""
