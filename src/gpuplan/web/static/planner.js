// gpuplan planner: reads the form, asks the JSON API, draws the numbers and the charts.
// Plain JavaScript, no framework; plotly.js comes from /vendor (the installed plotly package).
"use strict";

(function () {
  const form = document.getElementById("scenario");
  const statusBox = document.getElementById("status");
  const errorBox = document.getElementById("error");
  const lengthSelect = document.getElementById("length");
  const lengthInput = document.getElementById("length-value");
  let lastPlan = null;
  let sequence = 0;
  let timer = null;

  // ------------------------------------------------------------------ formatting
  const SCALES = [[1e12, " trillion"], [1e9, " billion"], [1e6, " million"]];
  function number(v) {
    if (v === null || v === undefined || !isFinite(v)) return "—";
    for (const [scale, word] of SCALES) {
      if (Math.abs(v) >= scale) return (v / scale).toFixed(v / scale >= 100 ? 0 : 1) + word;
    }
    return Math.abs(v) >= 100 ? Math.round(v).toLocaleString("en-US") : v.toPrecision(3);
  }
  const usd = (v) => (v === null || v === undefined ? "—" : "$" + number(v));
  const pct = (v) => (v === null || v === undefined ? "—" : (v * 100).toFixed(0) + "%");
  function si(v, unit) {
    if (v === null || v === undefined) return "—";
    for (const [scale, p] of [[1e12, "T"], [1e9, "G"], [1e6, "M"], [1e3, "k"]]) {
      if (Math.abs(v) >= scale) return (v / scale).toPrecision(3) + " " + p + unit;
    }
    return v.toPrecision(3) + " " + unit;
  }
  const flops = (v) => (v ? v.toExponential(2).replace("e+", " × 10^") + " FLOP" : "—");

  // ------------------------------------------------------------------ the scenario
  function setPath(target, path, value) {
    const parts = path.split(".");
    let node = target;
    for (const key of parts.slice(0, -1)) node = node[key] = node[key] || {};
    node[parts[parts.length - 1]] = value;
  }

  function scenario() {
    const data = {};
    for (const el of form.querySelectorAll("[data-kind]")) {
      const text = el.value.trim();
      if (text === "") continue;
      const kind = el.dataset.kind;
      const value = kind === "str" ? text : Number(text);
      setPath(data, el.name, kind !== "str" && Number.isNaN(value) ? text : value);
    }
    const length = lengthInput.value.trim();
    if (length !== "") {
      const value = Number(length);
      setPath(data, "training." + lengthSelect.value, Number.isNaN(value) ? length : value);
    }
    return data;
  }

  // ------------------------------------------------------------------ the API
  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: {"Content-Type": "application/json"},
      body: JSON.stringify(body),
    });
    const data = response.headers.get("content-type").includes("json")
      ? await response.json() : await response.text();
    if (!response.ok) throw {status: response.status, data: data};
    return data;
  }

  function showError(err) {
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    const detail = err && err.data && err.data.detail;
    let messages = [String(err && err.message ? err.message : err)];
    if (Array.isArray(detail)) {
      messages = detail.map((d) => d.msg);
      for (const d of detail) {
        const name = (d.loc || []).filter((p) => p !== "body").join(".");
        const el = form.querySelector(`[name="${name}"]`) ||
          (/^training\.(tokens|days)$/.test(name) ? lengthInput : null);
        if (el) el.classList.add("invalid");
      }
    } else if (typeof detail === "string") {
      messages = [detail];
    }
    errorBox.textContent = messages.join("\n");
    errorBox.hidden = false;
    document.getElementById("results").classList.add("stale");
    statusBox.textContent = "Fix the input to plan (the results below are for the last valid input).";
  }

  function clearError() {
    form.querySelectorAll(".invalid").forEach((el) => el.classList.remove("invalid"));
    errorBox.hidden = true;
    document.getElementById("results").classList.remove("stale");
  }

  // ------------------------------------------------------------------ drawing
  function card(label, value, detail) {
    return `<div class="card"><div class="label">${label}</div>` +
      `<div class="value">${value}</div><div class="detail">${detail || ""}</div></div>`;
  }

  // P10-P90 from the validation's residuals (the plan's intervals block), or "".
  function band(p, key, show) {
    const b = p.intervals && p.intervals[key];
    return b ? `P10–P90 ${show(b.p10)} – ${show(b.p90)}` : "";
  }

  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function drawPlan(p) {
    const s = p.scenario;
    document.getElementById("title").textContent =
      `${p.model.id} on ${Number(s.gpus).toLocaleString("en-US")} × ${s.hardware}`;
    const fits = p.fits === null ? "not modelled" : p.fits ? "yes" : "no";
    const cards = [card("Fits in memory", fits, p.infeasible_reason ? "why: see below" : "")];
    document.getElementById("reason").textContent = p.infeasible_reason || "";
    if (p.run) {
      const days = (v) => v.toFixed(1) + " days";
      cards.push(card("Time to train", days(p.run.days),
        ["failures included", band(p, "days", days)].filter(Boolean).join("; ")));
      cards.push(card("Tokens", number(p.run.tokens)));
      cards.push(card("Compute", flops(p.run.model_flops)));
      cards.push(card("GPU-hours", number(p.run.gpu_hours), band(p, "gpu_hours", number)));
      const seconds = (v) => v.toPrecision(3) + " s";
      cards.push(card("Step time", p.step.time_s ? seconds(p.step.time_s) : "—",
        band(p, "step_time_s", seconds)));
      const fp8 = p.step.mfu_vs_precision_peak;
      const peak = fp8 !== null && fp8 !== undefined && fp8 !== p.step.mfu
        ? `of the dense BF16 peak; ${pct(fp8)} of the FP8 peak` : "of the dense BF16 peak";
      const used = p.step.gpus_used;
      const idle = used && used < p.scenario.gpus
        ? `; per GPU used: the plan uses ${number(used)} of ${number(p.scenario.gpus)}` : "";
      cards.push(card("MFU", pct(p.step.mfu), peak + idle));
      cards.push(card("Facility power", si(p.power.facility_w, "W")));
      cards.push(card("Energy", si(p.energy.mwh * 1e6, "Wh")));
      cards.push(card("Emissions", number(p.emissions.tco2e) + " t CO₂e", p.emissions.grid));
      cards.push(card("Cost, amortised", usd(p.cost.amortized_usd)));
      cards.push(card("Cost, cloud", usd(p.cost.cloud_usd), band(p, "cost_usd", usd)));
      cards.push(card("Cluster capex", usd(p.cost.cluster_capex_usd)));
      if (p.scaling.predicted_loss === null || p.scaling.predicted_loss === undefined) {
        cards.push(card("Predicted loss", "not modelled", p.scaling.note || ""));
      } else {
        cards.push(card("Predicted loss", p.scaling.predicted_loss.toFixed(3), "nats/token"));
      }
    }
    const box = document.getElementById("cards");
    box.innerHTML = cards.join("");
    const keys = ["tp", "pp", "dp", "cp", "ep", "microbatch", "interleave", "recompute",
      "recompute_layers", "zero"];
    const table = document.getElementById("plan-table");
    table.innerHTML = p.plan.tp === null ? "" :
      "<tr>" + keys.map((k) => `<th>${k}</th>`).join("") + "</tr><tr>" +
      keys.map((k) => `<td>${p.plan[k] ?? "—"}</td>`).join("") + "</tr>";
    document.getElementById("assumptions").innerHTML =
      p.assumptions.map((a) => `<li>${escapeHtml(a)}</li>`).join("");
    document.getElementById("sources").innerHTML =
      p.sources.map((s) => `<tr><td>${escapeHtml(s.used_for)}</td><td>${escapeHtml(s.source)}</td>` +
        `<td>${escapeHtml(s.retrieved)}</td></tr>`).join("");
  }

  function drawFigures(figures) {
    for (const [id, fig] of Object.entries(figures)) {
      const el = document.getElementById(id);
      if (el) Plotly.react(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
    }
  }

  // ------------------------------------------------------------------ the loop
  async function update() {
    const mine = ++sequence;
    const body = scenario();
    statusBox.textContent = "Planning…";
    statusBox.dataset.state = "busy";
    try {
      const plan = await post("/api/plan", body);
      if (mine !== sequence) return;
      clearError();
      lastPlan = plan;
      document.getElementById("download-json").disabled = false;
      drawPlan(plan);
      const quick = await post("/api/figures?scaling=false", plan);
      if (mine !== sequence) return;
      drawFigures(quick.figures);
      statusBox.textContent = "Searching other GPU counts for the scaling curve…";
      const full = await post("/api/figures", plan);
      if (mine !== sequence) return;
      drawFigures({"chart-scaling": full.figures["chart-scaling"]});
      statusBox.textContent = "Up to date.";
      statusBox.dataset.state = "done";
    } catch (err) {
      if (mine !== sequence) return;
      showError(err);
      statusBox.dataset.state = "error";
    }
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(update, 350);
  }

  function download(name, blob) {
    const a = document.createElement("a");
    a.href = URL.createObjectURL(blob);
    a.download = name;
    document.body.appendChild(a);
    a.click();
    setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 0);
  }

  lengthSelect.addEventListener("change", () => {
    lengthInput.value = lengthInput.dataset[lengthSelect.value];
  });
  form.addEventListener("input", schedule);
  form.addEventListener("change", schedule);
  form.addEventListener("submit", (event) => { event.preventDefault(); update(); });
  document.getElementById("download-json").addEventListener("click", () => {
    if (lastPlan) {
      download("gpuplan-plan.json",
        new Blob([JSON.stringify(lastPlan, null, 2)], {type: "application/json"}));
    }
  });
  document.getElementById("download-yaml").addEventListener("click", async () => {
    try {
      const text = await post("/api/scenario.yaml", scenario());
      download("scenario.yaml", new Blob([text], {type: "application/yaml"}));
    } catch (err) {
      showError(err);
    }
  });
  update();
})();
