"""What the measurements say: origin inference (capture vs giant impact)."""
