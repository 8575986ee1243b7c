"""Per-tenant settings beside the tenant app clients: defaults that apply to every upload."""
