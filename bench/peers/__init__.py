"""Side-by-side benchmarks against other automation platforms (bench/peers/n8n.py)."""
