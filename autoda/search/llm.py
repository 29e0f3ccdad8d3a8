"""The LLM client: any OpenAI-compatible chat endpoint (OpenAI, vLLM, Ollama, llama.cpp's
server) through the openai package. Timeout, retries, temperature and answer length are
set here, in one place; every call returns the text with its request id and token counts,
or raises LLMError with a kind the journal records."""
from __future__ import annotations

import os
import time
from dataclasses import dataclass

import openai

TIMEOUT_SECONDS = 120.0
RETRIES = 2  # the openai client's own retries, with backoff, for 429, 5xx and dropped connections
TEMPERATURE = 0.8
MAX_TOKENS = 2000


class LLMError(RuntimeError):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind  # timeout, rate_limit, server, connection, api


@dataclass(frozen=True)
class LLMSettings:
    model: str
    base_url: str | None = None
    api_key: str | None = None
    timeout: float = TIMEOUT_SECONDS
    retries: int = RETRIES
    temperature: float = TEMPERATURE
    max_tokens: int = MAX_TOKENS

    @classmethod
    def resolve(cls, model: str | None, base_url: str | None, api_key: str | None, **overrides) -> "LLMSettings | None":
        """From flags, else OPENAI_BASE_URL, OPENAI_API_KEY and AUTODA_MODEL; None when no
        model is configured (then the search runs offline)."""
        model = model or os.environ.get("AUTODA_MODEL")
        if not model:
            return None
        return cls(model, base_url or os.environ.get("OPENAI_BASE_URL"), api_key or os.environ.get("OPENAI_API_KEY"),
                   **{k: v for k, v in overrides.items() if v is not None})

    def public(self) -> dict:
        """What the journal records: everything but the key."""
        return {"model": self.model, "base_url": self.base_url, "timeout": self.timeout, "retries": self.retries,
                "temperature": self.temperature, "max_tokens": self.max_tokens}


@dataclass(frozen=True)
class Completion:
    text: str
    prompt_tokens: int
    completion_tokens: int
    request_id: str | None
    seconds: float


class LLMClient:
    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        # a local server needs no key, but the client insists on one
        self.client = openai.OpenAI(base_url=settings.base_url, api_key=settings.api_key or "not-needed",
                                    timeout=settings.timeout, max_retries=settings.retries)

    def complete(self, messages: list[dict]) -> Completion:
        start = time.perf_counter()
        try:
            response = self.client.chat.completions.create(
                model=self.settings.model, messages=messages, temperature=self.settings.temperature,
                max_tokens=self.settings.max_tokens)
        except openai.APITimeoutError as error:
            raise LLMError("timeout", f"no answer within {self.settings.timeout:g} s ({error})") from None
        except openai.RateLimitError as error:
            raise LLMError("rate_limit", f"rate limited after {self.settings.retries} retries ({error})") from None
        except openai.InternalServerError as error:
            raise LLMError("server", f"server error after {self.settings.retries} retries ({error})") from None
        except openai.APIConnectionError as error:
            raise LLMError("connection", f"cannot reach {self.settings.base_url or 'the API'} ({error})") from None
        except openai.APIError as error:
            raise LLMError("api", str(error)) from None
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        usage = response.usage
        return Completion(text, getattr(usage, "prompt_tokens", 0) or 0, getattr(usage, "completion_tokens", 0) or 0,
                          getattr(response, "id", None), time.perf_counter() - start)
