"""Security checks on the synthesized Terraform JSON (see ``security.gate``)."""
