"""Sampling a new piece from a token LM: temperature, top-k (Fan et al. 2018), nucleus / top-p
(Holtzman et al. 2020) or greedy decoding, under the constraints of ``constraints.py``, with
the Transformer's KV cache (or the LSTM's state) so each token costs one step.

With ``SampleSettings.form`` the piece follows a plan of phrases (``form.py``): the bars it
repeats (a repeated section's bars but its last, or, with ``form_source``, the bars the piece it
is modelled on repeats) are re-played token by token through the model (so its cache and the
constraint tracker see them as if sampled); the second half of a phrase's last bar prefers
tonic- and dominant-triad pitches (a soft cadence). Once the model's window is full it reads
the piece's header and the recent half again, as every training window opens.
"""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import miditok
import symusic
import torch
from torch import nn

from generator.ml.constraints import ConstraintMasker, Constraints
from generator.ml.form import FormPlan, plan_form
from generator.ml.tokenizer import control_ids, decode_ids, header_length

logger = logging.getLogger(__name__)


@dataclass
class SampleSettings:
    """How tokens are drawn."""

    temperature: float = 1.0  # softmax temperature (> 0); ignored when greedy
    top_k: int = 0  # keep the k most likely tokens (0 = off)
    top_p: float = 1.0  # keep the smallest set with this much probability (1.0 = off)
    greedy: bool = False  # always take the most likely allowed token
    seed: int | None = None  # seeds torch's sampler for reproducible pieces; None: fresh entropy
    max_tokens: int = 4000  # hard cap on generated tokens
    use_cache: bool = True  # KV cache / recurrent state; False recomputes the prefix each step
    form: bool = True  # phrases in a plan such as AABA, repeated sections re-played (form.py)
    form_source: str = ""  # a piece's form (form.piece_form) the plan follows; "": the rule
    given_bars: int = 0  # the primer's last bars that open the piece (played, not written): the
    # form_source counts them, and a new bar may re-play one
    cadence_bonus: float = 1.0  # logit bonus, in a phrase's last half bar, for tonic/dominant
    # triad pitches (needs a key and form; 1.0 multiplies their odds against other pitches by e)
    density_bias: float = 0.0  # logit penalty per beat a next onset (Position or Bar) lies
    # ahead: > 0 writes nearer onsets (more notes per second), < 0 farther ones; 0: off


@dataclass
class Generated:
    ids: list[int]  # the new material's tokens (primer excluded)
    score: symusic.Score  # decoded, cleaned, tempo and program applied
    tokens_sampled: int
    seconds: float
    form: str = ""  # the plan followed, e.g. "AABA" ("" when form is off)
    phrase_bars: int = 0  # bars per phrase of that plan (0 when form is off)


def filter_logits(logits: torch.Tensor, settings: SampleSettings) -> torch.Tensor:
    """Temperature, then top-k, then top-p on a 1-D logit vector (masked entries are -inf)."""
    logits = logits / max(settings.temperature, 1e-5)
    if settings.top_k > 0:
        k = min(settings.top_k, logits.numel())
        kth = torch.topk(logits, k).values[-1]
        logits = logits.masked_fill(logits < kth, float("-inf"))
    if 0.0 < settings.top_p < 1.0:
        sorted_logits, order = torch.sort(logits, descending=True)
        probs = torch.softmax(sorted_logits, dim=-1)
        drop = torch.cumsum(probs, dim=-1) - probs > settings.top_p
        logits = logits.clone()
        logits[order[drop]] = float("-inf")
    return logits


def _primer_value(tokenizer: miditok.REMI, ids: list[int], kind: str) -> str | None:
    for i in ids:
        name = tokenizer[i]
        if name.startswith(kind + "_"):
            return name.split("_", 1)[1]
    return None


@torch.no_grad()
def generate(
    model: nn.Module,
    tokenizer: miditok.REMI,
    *,
    primer: list[int] | None = None,
    constraints: Constraints | None = None,
    settings: SampleSettings | None = None,
    on_progress: Callable[[float], None] | None = None,
) -> Generated:
    """Continue ``primer`` (token ids, e.g. a loved piece's opening) with ``constraints.bars``
    new bars. The primer only conditions the model; the returned piece is the new material.
    """
    c = constraints or Constraints()
    s = settings or SampleSettings()
    if c.bars < 1:
        raise ValueError("a piece needs at least one bar")
    if s.temperature <= 0 and not s.greedy:
        raise ValueError("temperature must be > 0 (or ask for greedy decoding)")
    device = next(model.parameters()).device
    threads = torch.get_num_threads()
    if device.type == "cpu":  # one token at a time: extra threads only contend (30x slower
        torch.set_num_threads(1)  # on a busy two-core machine)
    try:
        return _generate(model, tokenizer, primer, c, s, device, on_progress)
    finally:
        torch.set_num_threads(threads)


def _generate(model, tokenizer, primer, c, s, device, on_progress) -> Generated:
    gen = torch.Generator(device="cpu")  # starts from a fixed default seed: seed it either way
    if s.seed is not None:
        gen.manual_seed(s.seed)
    else:
        gen.seed()
    bos = tokenizer["BOS_None"]
    primer = list(primer or [])
    if not primer or primer[0] != bos:
        primer = [bos, *primer]
    time_sig = c.time_signature or _primer_value(tokenizer, primer, "TimeSig") or "4/4"
    if f"TimeSig_{time_sig}" not in tokenizer.vocab:
        time_sig = "4/4"
    tempo = c.tempo_bpm or float(_primer_value(tokenizer, primer, "Tempo") or 100.0)
    c = Constraints(**{**c.__dict__, "tempo_bpm": tempo, "time_signature": time_sig})
    masker = ConstraintMasker(tokenizer, c, time_sig)
    bar_id = tokenizer["Bar_None"]
    marks = (
        [i for i, t in enumerate(primer) if t == bar_id][-s.given_bars :] if s.given_bars else []
    )
    given = len(marks)
    plan = plan_form(c.bars, s.form_source[given:]) if s.form else None
    replays = _replays(plan, c.bars, s.form_source, given)
    past = primer[marks[0] :] if marks else []  # the given bars, then the new ones
    given_tokens = len(past)
    bar_starts = [m - marks[0] for m in marks]  # where each bar's Bar token sits in ``past``
    cadences = _PhraseCadence(masker, plan, s.cadence_bonus) if plan else None
    density = _Density(masker, s.density_bias) if s.density_bias else None
    max_len = model.config.max_len
    head = min(header_length(primer, control_ids(tokenizer)), max_len // 4)
    context = list(primer)
    start = time.perf_counter()
    first = recent(context, head, max_len - 1)
    window = len(first)  # tokens the model reads now
    logits, state = model.init_state(torch.tensor([first], device=device))
    forced = [tokenizer["Bar_None"], masker.time_sig_id]
    sampled = 0
    while True:
        if forced:  # a re-played bar, its durations kept to the final cadence
            token = masker.fit(forced.pop(0))
        else:
            allowed = logits[0].float().cpu() + masker.mask()
            if cadences:
                allowed = cadences.prefer(allowed)
            if density:
                allowed = density.prefer(allowed)
            if masker.state.bar_index + 1 >= c.bars and torch.isfinite(
                allowed[tokenizer["Bar_None"]]
            ):
                break  # the last bar is complete and has notes: end the piece on its bar line
            if s.greedy:
                token = int(torch.argmax(allowed))
            else:
                probs = torch.softmax(filter_logits(allowed, s), dim=-1)
                token = int(torch.multinomial(probs, 1, generator=gen))
            sampled += 1
        masker.observe(token)
        if masker.state.last_type == "Bar":
            bar_starts.append(len(past))
            if masker.state.bar_index in replays:
                forced.extend(_replay(past, bar_starts, *replays[masker.state.bar_index]))
        past.append(token)
        context.append(token)
        if sampled >= s.max_tokens and masker.state.last_type != "Pitch":
            logger.warning(
                "stopped at max_tokens=%d after %d bars", s.max_tokens, masker.state.bar_index + 1
            )
            break
        if on_progress and masker.state.last_type == "Bar":
            on_progress(min(1.0, masker.state.bar_index / c.bars))
        logits, state, window = _advance(
            model, token, state, context, head, window, s.use_cache, max_len, device
        )
    new = past[given_tokens:]
    score = finish_score(
        tokenizer, new, c, bars=masker.state.bar_index + 1, bar_len=masker.bar_len, res=masker.res
    )
    if score.note_num() == 0:
        raise RuntimeError("the model produced no notes")
    seconds = time.perf_counter() - start
    if plan is None:
        return Generated(new, score, sampled, seconds)
    return Generated(new, score, sampled, seconds, plan.form, plan.phrase_bars)


class _PhraseCadence:
    """A soft cadence at phrase ends: from the midpoint of a phrase's last bar, tonic- and
    dominant-triad pitches get ``bonus`` added to their logits, and all pitches are shifted
    together so that the chance of a note (rather than a rest or a move) stays the same."""

    def __init__(self, masker: ConstraintMasker, plan: FormPlan, bonus: float) -> None:
        self.masker = masker
        self.bars = plan.phrase_ends() - {masker.final_bar}  # the last bar has the hard cadence
        ids = sorted(masker.pitch_of)
        self.pitches = torch.tensor(ids)
        self.bonus = torch.tensor([bonus if i in masker.cadence_ok else 0.0 for i in ids])
        self.active = bool(masker.cadence_ok) and bonus != 0.0 and bool(self.bars)

    def prefer(self, logits: torch.Tensor) -> torch.Tensor:
        m = self.masker
        if not (self.active and m.state.bar_index in self.bars and m.in_second_half()):
            return logits
        pitch = logits[self.pitches]
        before = torch.logsumexp(pitch, dim=0)
        if not torch.isfinite(before):  # no pitch may come now
            return logits
        shifted = pitch + self.bonus
        logits = logits.clone()
        logits[self.pitches] = shifted - (torch.logsumexp(shifted, dim=0) - before)
        return logits


class _Density:
    """Nearer or farther onsets: each Position token, and the Bar line (the next bar's start),
    loses ``bias`` per beat it lies ahead of the current position."""

    def __init__(self, masker: ConstraintMasker, bias: float) -> None:
        self.masker = masker
        ids = masker.by_type["Position"]
        self.ids = torch.tensor([*ids, masker.by_type["Bar"][0]])
        self.at = torch.tensor([*(int(masker.values[i]) for i in ids), masker.bar_len])
        self.per_position = bias / masker.res

    def prefer(self, logits: torch.Tensor) -> torch.Tensor:
        ahead = (self.at - self.masker.state.pos).clamp(min=0)
        logits = logits.clone()
        logits[self.ids] -= self.per_position * ahead
        return logits


def _replays(
    plan: FormPlan | None, bars: int, source: str, given: int
) -> dict[int, tuple[int, int]]:
    """``{new bar: (source bar, count)}``, source bars counted from the first given bar: the
    plan's own replays, or with given bars and a piece's form, that form's over the given and
    the new bars (so a tune that comes back to its opening bars does so after a played one)."""
    if plan is None:
        return {}
    if not (given and source):
        return {bar: (src + given, n) for bar, (src, n) in plan.replays().items()}
    whole = plan_form(given + bars, source).replays()
    return {bar - given: replay for bar, replay in whole.items() if bar >= given}


def _replay(past: list[int], bar_starts: list[int], source: int, count: int) -> list[int]:
    """The tokens that re-play ``count`` bars from bar ``source``, after the Bar token that opens
    the repeat, up to and including the Bar token that closes the last re-played bar."""
    return past[bar_starts[source] + 1 : bar_starts[source + count] + 1]


def recent(context: list[int], head: int, length: int) -> list[int]:
    """The last ``length`` tokens of ``context``, its first ``head`` (the header: BOS and the
    control tokens) kept in front when the rest is cut, as every training window opens."""
    if len(context) <= length:
        return context
    return context[:head] + context[len(context) - (length - head) :]


def _advance(model, token, state, context, head, window, use_cache, max_len, device):
    """The next logits, the model state and how many tokens the model now reads. When the
    context is full it starts again on the header and the recent half; the path without a
    cache reads the same tokens as the cached one, so both draw the same piece."""
    full = window >= max_len
    window = max_len // 2 if full else window + 1
    if not use_cache:
        ids = torch.tensor([recent(context, head, window)], device=device)
        return model.logits_last(ids), None, window
    if full:
        ids = torch.tensor([recent(context, head, window)], device=device)
        return (*model.init_state(ids), window)
    return (*model.step(torch.tensor([token], device=device), state), window)


def finish_score(
    tokenizer: miditok.REMI, ids: list[int], c: Constraints, *, bars: int, bar_len: int, res: int
) -> symusic.Score:
    """Decode; one track with the asked program and tempo; every note ends inside the piece,
    the last onset's notes, when it is in the last bar's second half, are held to its end, and
    no more than ``c.max_polyphony`` notes sound at once (a held note ends where a note past
    the limit starts, or where its own pitch starts again: a replayed bar's first note)."""
    score = decode_ids(tokenizer, ids)
    tpq = score.ticks_per_quarter
    num, den = (int(x) for x in (c.time_signature or "4/4").split("/"))
    end = bars * num * tpq * 4 // den
    onsets = [n.time for t in score.tracks for n in t.notes if n.time < end]
    final = max(onsets) if onsets and max(onsets) >= end - num * tpq * 2 // den else None
    track = symusic.Track(program=c.program, is_drum=False, name="Generated")
    for source in score.tracks:
        for note in source.notes:
            if note.time >= end:
                continue
            dur = end - note.time if note.time == final else min(note.duration, end - note.time)
            if dur > 0:
                track.notes.append(symusic.Note(note.time, dur, note.pitch, 90))
    track.notes.sort(key=lambda n: (n.time, n.pitch))
    _cap_polyphony(track.notes, c.max_polyphony)
    out = symusic.Score(tpq)
    out.tempos.append(symusic.Tempo(0, float(c.tempo_bpm or 100.0)))
    out.time_signatures.append(symusic.TimeSignature(0, num, den))
    out.tracks.append(track)
    return out


def _cap_polyphony(notes, cap: int) -> None:
    """Shorten notes (sorted by onset) in place so that at most ``cap`` sound at each onset and
    no pitch sounds twice: the earliest-started notes still sounding end at the new onset."""
    sounding: list = []  # notes still sounding, in onset order
    for note in notes:
        sounding = [n for n in sounding if n.time + n.duration > note.time]
        for held in [n for n in sounding if n.pitch == note.pitch and n.time < note.time]:
            held.duration = note.time - held.time
            sounding.remove(held)
        earlier = [n for n in sounding if n.time < note.time]
        while len(sounding) >= max(cap, 1) and earlier:
            held = earlier.pop(0)
            held.duration = note.time - held.time
            sounding.remove(held)
        sounding.append(note)


def write_midi(score: symusic.Score, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    score.dump_midi(str(path))
    return path


def fresh_seed() -> int:
    """A random seed for a new piece, below 2**53 so that a JSON client reads it exactly."""
    return secrets.randbelow(2**53)


def bars_for_seconds(seconds: float, tempo_bpm: float, time_signature: str = "4/4") -> int:
    """How many bars of ``time_signature`` at ``tempo_bpm`` fill about ``seconds``."""
    num, den = (int(x) for x in time_signature.split("/"))
    quarters_per_bar = num * 4 / den
    return max(1, round(seconds * tempo_bpm / 60.0 / quarters_per_bar))
