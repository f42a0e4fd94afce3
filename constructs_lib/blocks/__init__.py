"""The building blocks: one construct per AWS concept, each taking ``(scope, id_, *, config,
provider, ...)`` with a frozen config, and exposing what others need as properties and grants. They
import nothing from the settings layer, so they can be used without this app (see examples/)."""
