"""Source files for the sample GitHub repositories: Python, JavaScript, Go and Java, built
from function templates so the code chunker has real definitions to split on, a few of
them longer than one embedding window."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from string import Template

ENTITIES = ["deal", "account", "call", "invoice", "webhook", "transcript", "contact", "forecast"]

PY_HEADER = '''"""${E} service: fetch, normalize and persist ${e} records."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx

log = logging.getLogger(__name__)'''

PY_FUNCS = [
    '''def fetch_${e}s(
    client: httpx.Client, cursor: str | None = None, limit: int = ${n}
) -> list[dict]:
    """Fetch one page of ${e}s updated after ``cursor``."""
    params: dict[str, object] = {"limit": limit}
    if cursor:
        params["updated_after"] = cursor
    response = client.get("/v1/${e}s", params=params, timeout=30)
    response.raise_for_status()
    return response.json()["results"]''',
    """@dataclass(frozen=True)
class ${E}Summary:
    ${e}_id: str
    total: float
    updated_at: datetime

    @property
    def is_stale(self) -> bool:
        return datetime.now(UTC) - self.updated_at > timedelta(days=${n})""",
    '''def normalize_${e}(raw: dict) -> dict:
    """Flatten the API shape into the row the warehouse expects."""
    props = raw.get("properties", {})
    return {
        "id": str(raw["id"]),
        "name": (props.get("name") or "").strip(),
        "amount": float(props.get("amount") or 0),
        "updated_at": raw["updatedAt"],
        "archived": bool(raw.get("archived", False)),
    }''',
    '''def dedupe_${e}s(rows: list[dict]) -> list[dict]:
    """Keep the newest version of each ${e}; ties keep the first seen."""
    latest: dict[str, dict] = {}
    for row in rows:
        seen = latest.get(row["id"])
        if seen is None or row["updated_at"] > seen["updated_at"]:
            latest[row["id"]] = row
    return sorted(latest.values(), key=lambda r: r["id"])''',
    '''def sync_${e}s(
    client: httpx.Client, store: "Store", cursor: str | None, max_pages: int = ${n}
) -> str | None:
    """Page through every ${e} changed since ``cursor`` and upsert it.

    The cursor only moves after a page is written, so a crash in the middle of a page
    re-reads that page instead of skipping it. Rate-limit responses are retried with
    exponential backoff; anything else is raised to the caller, which owns the schedule.
    """
    pages = 0
    written = 0
    while pages < max_pages:
        attempt = 0
        while True:
            try:
                batch = fetch_${e}s(client, cursor=cursor)
                break
            except httpx.HTTPStatusError as exc:
                if exc.response.status_code != 429 or attempt >= 5:
                    raise
                delay = float(exc.response.headers.get("Retry-After", 2 ** attempt))
                log.warning("rate limited on ${e}s, sleeping %.1fs (attempt %d)", delay, attempt)
                store.sleep(delay)
                attempt += 1
        if not batch:
            break
        rows = dedupe_${e}s([normalize_${e}(raw) for raw in batch])
        deleted = [row["id"] for row in rows if row["archived"]]
        live = [row for row in rows if not row["archived"]]
        with store.transaction() as tx:
            tx.upsert("${e}s", live, key="id")
            if deleted:
                tx.delete("${e}s", deleted)
            cursor = max(row["updated_at"] for row in rows)
            tx.save_cursor("${e}s", cursor)
        written += len(live)
        pages += 1
        log.info("synced %d ${e}s (%d deleted), cursor now %s", len(live), len(deleted), cursor)
    log.info("sync of ${e}s finished after %d pages, %d rows written", pages, written)
    return cursor''',
    '''def ${e}_health(rows: list[dict], threshold: float = 0.${n}) -> str:
    """A coarse label for dashboards: healthy, watch or at_risk."""
    if not rows:
        return "at_risk"
    stale = sum(1 for r in rows if r.get("days_since_activity", 0) > 14) / len(rows)
    if stale < threshold:
        return "healthy"
    return "watch" if stale < threshold * 2 else "at_risk"''',
]

JS_HEADER = """// ${E} API helpers used by the web app.
import { apiFetch } from "../lib/api";
import { formatCurrency } from "../lib/format";"""

JS_FUNCS = [
    """export async function list${E}s(cursor, limit = ${n}) {
  const params = new URLSearchParams({ limit: String(limit) });
  if (cursor) params.set("cursor", cursor);
  const res = await apiFetch("/api/${e}s?" + params.toString());
  if (!res.ok) throw new Error("failed to load ${e}s: " + res.status);
  return res.json();
}""",
    """export function summarize${E}s(items) {
  return items.reduce(
    (acc, item) => {
      acc.count += 1;
      acc.total += Number(item.amount || 0);
      if (item.stage === "closedwon") acc.won += 1;
      return acc;
    },
    { count: 0, total: 0, won: 0 },
  );
}""",
    """export function ${e}Label(item) {
  const amount = formatCurrency(item.amount);
  const owner = item.owner ? item.owner.name : "unassigned";
  return item.name + " (" + amount + ", " + owner + ")";
}""",
    """export function group${E}sByWeek(items) {
  const weeks = new Map();
  for (const item of items) {
    const d = new Date(item.updatedAt);
    const offset = (d.getUTCDay() + 6) % 7;
    const monday = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() - offset));
    const key = monday.toISOString().slice(0, 10);
    if (!weeks.has(key)) weeks.set(key, []);
    weeks.get(key).push(item);
  }
  return Array.from(weeks.entries())
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([week, rows]) => ({ week, rows, total: rows.length }));
}""",
    """export async function loadAll${E}s(onProgress = () => {}) {
  // Walks every page; the server's cursor is opaque, we just hand it back.
  const all = [];
  let cursor = null;
  let page = 0;
  for (;;) {
    let body;
    for (let attempt = 0; ; attempt += 1) {
      try {
        body = await list${E}s(cursor, ${n});
        break;
      } catch (err) {
        if (attempt >= 4) throw err;
        const wait = Math.min(30000, 500 * 2 ** attempt) * (0.5 + Math.random() / 2);
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    for (const item of body.results) {
      if (item.archived) continue;
      all.push({
        id: item.id,
        name: item.name,
        amount: Number(item.amount || 0),
        stage: item.stage,
        owner: item.owner || null,
        updatedAt: item.updatedAt,
      });
    }
    page += 1;
    onProgress({ page, loaded: all.length });
    if (!body.next) break;
    cursor = body.next;
  }
  return all;
}""",
]

GO_HEADER = """package ${e}

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"
)"""

GO_FUNCS = [
    """// ${E} is the gateway's view of a ${e}.
type ${E} struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Amount    float64   `json:"amount"`
	UpdatedAt time.Time `json:"updated_at"`
}""",
    """// Validate reports the first problem with a ${e}, or nil.
func (x *${E}) Validate() error {
	if x.ID == "" {
		return errors.New("${e}: missing id")
	}
	if x.Amount < 0 {
		return fmt.Errorf("${e} %s: negative amount %.2f", x.ID, x.Amount)
	}
	return nil
}""",
    """// Get${E} loads one ${e} from the upstream service.
func Get${E}(ctx context.Context, client *http.Client, base, id string) (*${E}, error) {
	ctx, cancel := context.WithTimeout(ctx, ${n}*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/${e}s/"+id, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("get ${e} %s: %w", id, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("get ${e} %s: status %d", id, resp.StatusCode)
	}
	var out ${E}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	return &out, out.Validate()
}""",
    """// Handler serves ${e}s over HTTP with a per-request deadline and structured errors.
func Handler(client *http.Client, base string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("id")
		if id == "" {
			http.Error(w, "missing id", http.StatusBadRequest)
			return
		}
		var (
			item *${E}
			err  error
		)
		for attempt := 0; attempt < 4; attempt++ {
			item, err = Get${E}(r.Context(), client, base, id)
			if err == nil {
				break
			}
			if errors.Is(err, context.Canceled) {
				return
			}
			backoff := time.Duration(1<<attempt) * 200 * time.Millisecond
			select {
			case <-time.After(backoff):
			case <-r.Context().Done():
				return
			}
		}
		if err != nil {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusBadGateway)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": err.Error(), "id": id})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "max-age=${n}")
		if err := json.NewEncoder(w).Encode(item); err != nil {
			http.Error(w, "encode failed", http.StatusInternalServerError)
		}
	}
}""",
]

JAVA_HEADER = """package ai.sophia.ingest;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;"""

JAVA_FUNCS = [
    """    public ${E}Processor(Map<String, String> config) {
        this.batchSize = Integer.parseInt(config.getOrDefault("batch.size", "${n}"));
        this.maxAge = Duration.ofDays(Long.parseLong(config.getOrDefault("max.age.days", "30")));
    }""",
    """    public boolean isFresh(Instant updatedAt) {
        return Duration.between(updatedAt, Instant.now()).compareTo(maxAge) < 0;
    }""",
    """    public List<List<String>> partition(List<String> ids) {
        List<List<String>> batches = new ArrayList<>();
        for (int i = 0; i < ids.size(); i += batchSize) {
            batches.add(ids.subList(i, Math.min(ids.size(), i + batchSize)));
        }
        return batches;
    }""",
    """    public int process(List<Map<String, Object>> records, Sink sink)
            throws InterruptedException {
        // Records arrive out of order; keep the newest per id, then write in batches so a
        // failed batch can be retried on its own without replaying the whole file.
        Map<String, Map<String, Object>> newest = new java.util.TreeMap<>();
        for (Map<String, Object> record : records) {
            String id = String.valueOf(record.get("id"));
            Map<String, Object> seen = newest.get(id);
            String updated = String.valueOf(record.get("updated_at"));
            if (seen == null || updated.compareTo(String.valueOf(seen.get("updated_at"))) > 0) {
                newest.put(id, record);
            }
        }
        int written = 0;
        for (List<String> batch : partition(new ArrayList<>(newest.keySet()))) {
            List<Map<String, Object>> rows = new ArrayList<>();
            for (String id : batch) {
                rows.add(newest.get(id));
            }
            int attempt = 0;
            while (true) {
                try {
                    sink.write("${e}s", rows);
                    written += rows.size();
                    break;
                } catch (RuntimeException e) {
                    if (++attempt > 5) {
                        throw e;
                    }
                    Thread.sleep((long) (Math.pow(2, attempt) * 100));
                }
            }
        }
        return written;
    }""",
]

LANGUAGES = {
    "python": (PY_HEADER, PY_FUNCS),
    "javascript": (JS_HEADER, JS_FUNCS),
    "go": (GO_HEADER, GO_FUNCS),
    "java": (JAVA_HEADER, JAVA_FUNCS),
}

REPOS = [
    ("sophia-ai/sophia-api", "python"),
    ("sophia-ai/sophia-web", "javascript"),
    ("sophia-ai/sophia-gateway", "go"),
    ("sophia-ai/sophia-ingest", "java"),
]


def path_for(language: str, entity: str) -> str:
    pascal = entity.capitalize()
    return {
        "python": f"src/sophia/{entity}s/service.py",
        "javascript": f"web/src/{entity}s/{entity}Api.js",
        "go": f"internal/{entity}/{entity}.go",
        "java": f"src/main/java/ai/sophia/ingest/{pascal}Processor.java",
    }[language]


# Languages whose first template declares what the others use (Go's struct, Java's
# constructor): it is always in the file.
ANCHORED = frozenset({"go", "java"})
_SIZES = [10, 25, 50, 100, 200]


@dataclass
class SourceFile:
    """One file's current content: a header plus definitions, each a template index and
    the number it was rendered with, kept in template order."""

    language: str
    entity: str
    blocks: dict[int, int] = field(default_factory=dict)  # template index -> n

    @property
    def path(self) -> str:
        return path_for(self.language, self.entity)

    def render(self) -> str:
        templates = LANGUAGES[self.language][1]
        header = Template(LANGUAGES[self.language][0]).substitute(self._params(0))
        defs = [
            Template(templates[i]).substitute(self._params(n))
            for i, n in sorted(self.blocks.items())
        ]
        if self.language == "java":
            pascal = self.entity.capitalize()
            return (
                f"{header}\n\npublic class {pascal}Processor {{\n"
                "    private final int batchSize;\n    private final Duration maxAge;\n\n"
                + "\n\n".join(defs)
                + "\n}\n"
            )
        gap = "\n\n\n" if self.language == "python" else "\n\n"
        return header + gap + gap.join(defs) + "\n"

    def _params(self, n: int) -> dict[str, object]:
        return {"e": self.entity, "E": self.entity.capitalize(), "n": n}

    def edit(self, rng: random.Random) -> bool:
        """One change: add a definition the file lacks, or re-tune one it has. False when
        nothing changed."""
        templates = LANGUAGES[self.language][1]
        missing = [i for i in range(len(templates)) if i not in self.blocks]
        if missing and rng.random() < 0.35:
            self.blocks[rng.choice(missing)] = rng.choice(_SIZES)
            return True
        editable = sorted(self.blocks)
        index = rng.choice(editable)
        before = self.blocks[index]
        self.blocks[index] = rng.choice([n for n in _SIZES if n != before])
        # A template without the number renders the same: that edit changed nothing.
        return "${n}" in templates[index]


def new_file(rng: random.Random, language: str, entity: str) -> SourceFile:
    f = SourceFile(language, entity)
    templates = LANGUAGES[language][1]
    chosen = set(rng.sample(range(len(templates)), rng.randint(2, len(templates))))
    if language in ANCHORED:
        chosen.add(0)
    f.blocks = {i: rng.choice(_SIZES) for i in sorted(chosen)}
    return f


def extension(language: str) -> str:
    return {"python": ".py", "javascript": ".js", "go": ".go", "java": ".java"}[language]
