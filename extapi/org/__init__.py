"""Organisation structure: hierarchy frameworks, types and items, and job assignments."""
