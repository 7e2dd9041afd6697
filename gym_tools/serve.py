"""A local OpenAI-compatible chat endpoint over a Hugging Face causal LM (`envgen serve-model`), so the
`openai` policy, and any client of that API, can be pointed at a model on this machine with no network.

`POST /v1/chat/completions` renders the messages with the model's own chat template (tool turns as
`<tool_response>` user turns, as `plain_chat` writes them), generates, and returns hermes `<tool_call>`
blocks in the reply as OpenAI `tool_calls`, as vLLM's hermes parser does. `GET /v1/models` lists the model.
One generation runs at a time.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from gym_tools.formats import plain_chat
from gym_tools.parsers import parse


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    max_tokens: int | None = Field(default=None, ge=1, le=4096)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=4096)
    seed: int | None = None


class ChatModel:
    """The model behind the endpoint; `reply` is the whole of the OpenAI-side logic."""

    def __init__(self, name: str, max_new_tokens: int = 256) -> None:
        from gym_tools.hf import load_causal_lm

        self.name = name
        self.lm, self.tokenizer = load_causal_lm(name)
        self.max_new_tokens = max_new_tokens
        self.lock = threading.Lock()

    def generate(self, request: ChatRequest) -> tuple[str, int, int]:
        from gym_tools.hf import generate_reply

        limit = request.max_completion_tokens or request.max_tokens or self.max_new_tokens
        with self.lock:
            return generate_reply(self.lm, self.tokenizer, plain_chat(request.messages, "hermes"), limit, request.temperature, request.seed)

    def reply(self, request: ChatRequest) -> dict[str, Any]:
        text, prompt_tokens, completion_tokens = self.generate(request)
        turn = parse(text, "hermes")
        message: dict[str, Any] = {"role": "assistant", "content": turn.content if turn.calls else text}
        if turn.calls:
            message["tool_calls"] = [
                {"id": f"call_{uuid.uuid4().hex[:12]}", "type": "function", "function": {"name": c.name, "arguments": json.dumps(c.arguments)}}
                for c in turn.calls
            ]
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.name,
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if turn.calls else "stop"}],
            "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens, "total_tokens": prompt_tokens + completion_tokens},
        }


def make_server(model: ChatModel, host: str = "127.0.0.1", port: int = 8000) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        def send_json(self, status: HTTPStatus, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def error(self, status: HTTPStatus, message: str) -> None:
            self.send_json(status, {"error": {"message": message, "type": "invalid_request_error", "code": status.value}})

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                return self.error(HTTPStatus.NOT_FOUND, f"no route {self.path}")
            self.send_json(HTTPStatus.OK, {"object": "list", "data": [{"id": model.name, "object": "model", "owned_by": "envgen"}]})

        def do_POST(self) -> None:
            if self.path.rstrip("/") != "/v1/chat/completions":
                return self.error(HTTPStatus.NOT_FOUND, f"no route {self.path}")
            try:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request = ChatRequest.model_validate_json(raw)
            except (ValueError, ValidationError) as exc:
                return self.error(HTTPStatus.BAD_REQUEST, f"bad chat completion request: {exc}")
            self.send_json(HTTPStatus.OK, model.reply(request))

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return ThreadingHTTPServer((host, port), Handler)
