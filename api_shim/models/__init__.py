"""Request and response models, declared once for validation and the OpenAPI document."""
