"""The environment names the services read, for the deploy tests to check files against."""

from pydantic_settings import BaseSettings

from services.common import settings


def setting_env_names() -> frozenset[str]:
    """RESLOT_<FIELD> and KAFKA_<FIELD>, from the fields of Settings and KafkaSettings."""
    names: set[str] = set()
    for model in (settings.Settings, settings.KafkaSettings):
        prefix = model.model_config["env_prefix"]
        for field, info in model.model_fields.items():
            nested = isinstance(info.annotation, type) and issubclass(info.annotation, BaseSettings)
            if not nested:  # a nested settings model reads its own prefix
                names.add(f"{prefix}{field}".upper())
    return frozenset(names)
