"""`make schemas`: JSON Schema per event type and the AsyncAPI 3.0 document of both services.

Generated from the pydantic models; a test fails when the committed files differ.
"""

import json
from pathlib import Path
from typing import Any

from schemas.events import EVENT_CLASSES, event_type_of
from schemas.topics import TOPIC_OF_TYPE, Topic

HERE = Path(__file__).parent
JSON_DIR = HERE / "json"
ASYNCAPI = HERE / "asyncapi.json"

SERVICES: dict[str, dict[str, list[Topic]]] = {
    "scheduler": {
        "receive": [Topic.CENTRES, Topic.CAPACITY, Topic.BOOKINGS, Topic.OUTAGES,
                    Topic.OUTAGES_BY_CENTRE, Topic.INPUTS_BY_CENTRE, Topic.REPLIES, Topic.OPS],
        "send": [Topic.RESCHEDULES, Topic.NOTIFICATIONS, Topic.OUTAGES_BY_CENTRE,
                 Topic.INPUTS_BY_CENTRE, Topic.REPLIES, Topic.DEADLETTER],
    },
    "web": {
        "receive": [],
        "send": [Topic.REPLIES, Topic.OPS],
    },
    "notifier": {
        "receive": [Topic.NOTIFICATIONS],
        "send": [Topic.NOTIFICATION_STATUS, Topic.DEADLETTER],
    },
}


def json_schemas() -> dict[str, dict[str, Any]]:
    return {event_type_of(cls): cls.model_json_schema() for cls in EVENT_CLASSES}


def asyncapi() -> dict[str, Any]:
    schemas = json_schemas()
    messages = {
        _name(t): {
            "name": t, "contentType": "application/cloudevents+json",
            "payload": {"$ref": f"#/components/schemas/{_name(t)}"},
        }
        for t in schemas
    }
    channels = {}
    for topic in Topic:
        types = [t for t, top in TOPIC_OF_TYPE.items() if top == topic]
        if topic == Topic.OUTAGES_BY_CENTRE:
            types = [t for t, top in TOPIC_OF_TYPE.items() if top == Topic.OUTAGES]
        if topic == Topic.INPUTS_BY_CENTRE:  # any input, forwarded to its centre's owner
            types = [t for t, top in TOPIC_OF_TYPE.items()
                     if top in (Topic.CENTRES, Topic.CAPACITY, Topic.BOOKINGS, Topic.OUTAGES,
                                Topic.REPLIES, Topic.OPS)]
        if topic == Topic.DEADLETTER:
            types = ["visa.deadletter.v1"]
        channels[_name(topic)] = {
            "address": str(topic),
            "messages": {_name(t): {"$ref": f"#/components/messages/{_name(t)}"} for t in types},
            "bindings": {"kafka": {"partitions": 6, "bindingVersion": "0.5.0"}},
        }
    operations = {}
    for service, ops in SERVICES.items():
        for action, topics in ops.items():
            for topic in topics:
                operations[f"{service}_{action}_{_name(topic)}"] = {
                    "action": action,
                    "channel": {"$ref": f"#/channels/{_name(topic)}"},
                    "summary": f"{service} {action}s on {topic}",
                }
    components = {name: schema for name, schema in
                  ((_name(t), s) for t, s in schemas.items())}
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "Reslot", "version": "1.0.0",
                 "description": "Event contract v1.1 of the scheduler, the notifier and the "
                                "web front (CloudEvents 1.0, structured mode, key = centre id)."},
        "defaultContentType": "application/cloudevents+json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": components},
    }


def _name(event_type_or_topic: str) -> str:
    return event_type_or_topic.replace(".", "_").replace("-", "_")


def rendered() -> dict[Path, str]:
    files = {JSON_DIR / f"{t}.json": _dump(s) for t, s in json_schemas().items()}
    files[ASYNCAPI] = _dump(asyncapi())
    return files


def _dump(obj: Any) -> str:
    return json.dumps(obj, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main() -> None:
    JSON_DIR.mkdir(exist_ok=True)
    files = rendered()
    for stale in set(JSON_DIR.glob("*.json")) - set(files):
        stale.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} files under {HERE}")


if __name__ == "__main__":
    main()
