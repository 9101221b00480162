"""Examples: a realistic policy, its generated permissions and a FastAPI app using them."""
