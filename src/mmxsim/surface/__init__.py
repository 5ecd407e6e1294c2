"""Surface operations (JAXA spacecraft landing; CNES flight dynamics)."""
