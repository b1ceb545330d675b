// The discrete-gan web page: a small client of the JSON API (no framework, no build step).
// Every data call goes through api(), which sends the API key kept in sessionStorage.
"use strict";

(() => {
  const TOP = 50; // labels shown per column in bars and pickers; the rest become "other"
  const TABLE_ROWS = 100; // sampled rows shown in the table (the CSV download has them all)
  const KEY = "discrete-gan.api-key";
  const PLOTS = {
    "marginals.png": "Learned vs data probabilities per column",
    "error_heatmap.png": "Learned minus data probability per category over epochs",
    "losses.png": "Losses and fidelity per epoch",
    "temperature.png": "Gumbel-Softmax temperature schedule",
  };
  const $ = (id) => document.getElementById(id);
  const blobUrls = [];

  // ------------------------------------------------------------------ helpers
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.className = v;
      else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c !== null && c !== undefined && c !== false) el.append(c);
    }
    return el;
  }

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail);
      this.status = status;
    }
  }

  function detailText(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map((d) => `${(d.loc || []).slice(1).join(".")}: ${d.msg}`).join("; ");
    }
    return detail === undefined ? "" : JSON.stringify(detail);
  }

  async function api(path, { method = "GET", body = null, params = [], as = "json" } = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of params) url.searchParams.append(k, v);
    const headers = {};
    const key = sessionStorage.getItem(KEY);
    if (key) headers["X-API-Key"] = key;
    if (body !== null) headers["Content-Type"] = "application/json";
    let r;
    try {
      r = await fetch(url, { method, headers, body: body === null ? null : JSON.stringify(body) });
    } catch (e) {
      throw new ApiError(0, `Cannot reach the service (${e.message})`);
    }
    if (!r.ok) {
      let detail = r.statusText;
      try {
        detail = detailText((await r.json()).detail) || detail;
      } catch {
        // not JSON: keep the status text
      }
      throw new ApiError(r.status, detail);
    }
    return as === "blob" ? r.blob() : r.json();
  }

  const enc = encodeURIComponent;
  const modelPath = (name) => `/models/${enc(name)}`;

  function labelText(label, dtype) {
    if (label === null) return "(missing)";
    if (typeof label === "boolean") return label ? "True" : "False";
    if (typeof label === "number" && String(dtype).startsWith("float") && Number.isInteger(label)) {
      return label.toFixed(1);
    }
    return String(label);
  }

  function pct(p) {
    if (p > 0 && p < 0.001) return "<0.1%";
    return `${(100 * p).toFixed(1)}%`;
  }

  const num = (x, digits = 3) => (x === null || x === undefined ? "—" : Number(x).toFixed(digits));

  function setStatus(text) {
    $("status").textContent = text || "";
  }

  function showError(err) {
    $("error").textContent = err ? (err.status ? `Error ${err.status}: ` : "") + err.message : "";
  }

  function show(...nodes) {
    $("view").replaceChildren(...nodes.filter((n) => n !== null && n !== undefined));
  }

  function releaseBlobs() {
    while (blobUrls.length) URL.revokeObjectURL(blobUrls.pop());
  }

  // ------------------------------------------------------------------ API key
  function askForKey(message) {
    $("view").replaceChildren();
    setStatus("");
    showError(null);
    $("key-panel").hidden = false;
    $("key-error").textContent = message || "";
    $("key-input").focus();
  }

  function handle(err) {
    if (err instanceof ApiError && err.status === 401) {
      const had = sessionStorage.getItem(KEY);
      sessionStorage.removeItem(KEY);
      $("forget-key").hidden = true;
      askForKey(had ? `The API key was rejected: ${err.message}` : "");
    } else {
      setStatus("");
      showError(err);
    }
  }

  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const key = $("key-input").value.trim();
    if (!key) return;
    sessionStorage.setItem(KEY, key);
    $("key-input").value = "";
    $("key-panel").hidden = true;
    $("forget-key").hidden = false;
    route();
  });

  $("forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    $("forget-key").hidden = true;
    askForKey("The API key was forgotten.");
  });

  // ------------------------------------------------------------------ model list
  async function showModels() {
    setStatus("Loading models…");
    const body = await api("/models");
    document.title = "Models · discrete-gan";
    const rows = body.models.map((m) =>
      h(
        "tr",
        {},
        h("th", { scope: "row" }, h("a", { href: `#/models/${enc(m.name)}` }, m.name)),
        h("td", { class: "num" }, m.version),
        h(
          "td",
          {},
          h("span", { class: "count" }, `${m.columns.length}`),
          " ",
          m.columns.join(", "),
        ),
        h("td", { class: "num" }, m.rows === null ? "—" : Number(m.rows).toLocaleString("en")),
        h("td", { class: "num" }, num(m.fidelity && m.fidelity.mean_column_tvd)),
        h("td", { class: "num" }, num(m.fidelity && m.fidelity.mean_pairwise_tvd)),
      ),
    );
    const refused = Object.entries(body.refused || {});
    show(
      h("h1", {}, "Models"),
      rows.length
        ? h(
            "div",
            { class: "card scroll" },
            h(
              "table",
              { class: "models" },
              h(
                "caption",
                {},
                "Latest version of each model. Fidelity: total variation distance ",
                "between sampled rows and the training data (0 = identical).",
              ),
              h(
                "thead",
                {},
                h(
                  "tr",
                  {},
                  [
                    "Model",
                    "Version",
                    "Columns",
                    "Training rows",
                    "Column TVD",
                    "Pairwise TVD",
                  ].map((t) => h("th", { scope: "col" }, t)),
                ),
              ),
              h("tbody", {}, rows),
            ),
          )
        : h("p", { class: "card" }, "No model is loaded yet."),
      refused.length
        ? h(
            "div",
            { class: "card" },
            h("h2", {}, "Refused models"),
            h(
              "ul",
              {},
              refused.map(([n, why]) => h("li", {}, h("strong", {}, n), `: ${why}`)),
            ),
          )
        : null,
    );
    setStatus("");
  }

  // ------------------------------------------------------------------ one model
  // A column of /models/{name}: every label, or (a column with `other`, one with more than
  // 100 labels) only its top labels by training frequency, the rest summed up in `other`.
  function columnInfo(schema) {
    return schema.map((c) => {
      const order = c.categories.map((_, i) => i);
      order.sort((a, b) => (c.frequencies[b] || 0) - (c.frequencies[a] || 0) || a - b);
      const index = new Map(c.categories.map((label, i) => [JSON.stringify(label), i]));
      const cardinality = c.cardinality ?? c.categories.length;
      return { ...c, cardinality, other: c.other || null, order, top: order.slice(0, TOP), index };
    });
  }

  // A series of probabilities over the column's listed labels (`v`, in `categories` order)
  // plus the mass of the labels it does not list (`other`).
  function asSeries(col, entries, other) {
    const v = new Array(col.categories.length).fill(0);
    let rest = other ? other.probability : 0;
    for (const e of entries || []) {
      const i = col.index.get(JSON.stringify(e.label));
      if (i !== undefined) v[i] = e.probability;
      else rest += e.probability;
    }
    return { v, other: rest };
  }

  function dataSeries(col) {
    return { v: col.frequencies, other: col.other ? col.other.frequency : 0 };
  }

  // Data (grey) and learned (blue) per label; with `given`, also learned | given (orange).
  // The top labels by training frequency get a row each, the rest one "other" row.
  function barsTable(col, learned, given) {
    const rest = col.order.slice(TOP);
    const restLabels = rest.length + (col.other ? col.other.labels : 0);
    const sum = (idx, s) => idx.reduce((t, i) => t + (s.v[i] || 0), s.other);
    const series = given ? [dataSeries(col), learned, given] : [dataSeries(col), learned];
    const items = col.top.map((i) => [
      labelText(col.categories[i], col.dtype),
      ...series.map((s) => s.v[i]),
    ]);
    if (restLabels)
      items.push([
        `other (${restLabels.toLocaleString("en")} labels)`,
        ...series.map((s) => sum(rest, s)),
      ]);
    const max = Math.max(1e-9, ...items.flatMap((item) => item.slice(1)));
    // exact over every label; for a column with `other`, over the listed labels and the rest
    // as one: a lower bound of the labels' TVD
    const tvd = (p, q) =>
      0.5 * p.v.reduce((s, x, i) => s + Math.abs(x - q.v[i]), Math.abs(p.other - q.other));
    const bar = (cls, p) => {
      const el = h("span", { class: `bar ${cls}` });
      el.style.width = `${(100 * p) / max}%`;
      return el;
    };
    const classes = ["data", "learned", "given"];
    const headings = ["data", "learned", "learned | given"];
    const shown = given ? [0, 2] : [0, 1];
    const approx = col.other ? " ≥ " : " ";
    const note = given
      ? `shift${approx}${tvd(given, learned).toFixed(3)}`
      : `TVD vs data${approx}${tvd(learned, series[0]).toFixed(3)}`;
    return h(
      "table",
      { class: "bars" },
      h(
        "caption",
        {},
        h("span", { class: "col-name" }, col.name),
        h(
          "span",
          { class: "muted" },
          ` ${col.cardinality.toLocaleString("en")} labels · ${note}`,
        ),
      ),
      h(
        "thead",
        { class: "sr-only" },
        h(
          "tr",
          {},
          ["label", "bars", ...shown.map((k) => headings[k])].map((t) =>
            h("th", { scope: "col" }, t),
          ),
        ),
      ),
      h(
        "tbody",
        {},
        items.map(([label, ...values]) =>
          h(
            "tr",
            {},
            h("th", { scope: "row", title: label }, label),
            h(
              "td",
              { class: "track", "aria-hidden": "true" },
              values.map((p, k) => bar(classes[k], p)),
            ),
            shown.map((k) => h("td", { class: `num ${classes[k]}-text` }, pct(values[k]))),
          ),
        ),
      ),
    );
  }

  // A condition picker: a select of the top labels; for a column with `other` (too many
  // labels for a select), a text field suggesting the top labels (a datalist), where any label
  // can be typed. `value()` is null for "any", else {label, text}: the label as JSON (for
  // sample conditions) and as text (for `given`); a typed label is text, which the service
  // matches exactly as the model writes its labels.
  function labelPicker(id, col, firstText, usable) {
    const shown = col.top.filter((i) => usable(col.categories[i]));
    if (!col.other) {
      const el = h(
        "select",
        { id, name: col.name },
        h("option", { value: "" }, firstText),
        shown.map((i) =>
          h("option", { value: String(i) }, labelText(col.categories[i], col.dtype)),
        ),
      );
      const value = () => {
        if (el.value === "") return null;
        const label = col.categories[Number(el.value)];
        return { label, text: labelText(label, col.dtype) };
      };
      return { el, parts: [el], value };
    }
    const listId = `${id}-labels`;
    const el = h("input", {
      id,
      name: col.name,
      type: "text",
      list: listId,
      autocomplete: "off",
      spellcheck: "false",
      placeholder: `${firstText} of ${col.cardinality.toLocaleString("en")} labels`,
    });
    const list = h(
      "datalist",
      { id: listId },
      shown.map((i) => h("option", { value: labelText(col.categories[i], col.dtype) })),
    );
    const value = () => (el.value === "" ? null : { label: el.value, text: el.value });
    return { el, parts: [el, list], value };
  }

  function explorer(name, version, cols, base) {
    const bars = h("div", { class: "bars-grid" });
    const note = h("p", { class: "muted", "aria-live": "polite" });
    const err = h("p", { class: "error", role: "alert" });
    // `given` travels as text (column:label, a|b for sets): labels that cannot be written so are left out.
    const givenable = (label) => label !== null && !String(label).includes("|");
    const pickers = cols.map((c, j) => labelPicker(`given-${j}`, c, "any", givenable));
    const series = (body, c) => asSeries(c, body.probabilities[c.name], body.other?.[c.name]);
    const render = (body) => {
      bars.replaceChildren(
        ...cols.map((c) => barsTable(c, series(base, c), body && series(body, c))),
      );
    };
    let request = 0;
    const update = async () => {
      const given = [];
      cols.forEach((c, j) => {
        const picked = pickers[j].value();
        if (picked !== null) given.push([c.name, picked.text]);
      });
      err.textContent = "";
      if (!given.length) {
        note.textContent =
          "Learned probabilities P(column = label) next to the training data's frequencies.";
        render(null);
        return;
      }
      const mine = ++request;
      note.textContent = "Updating…";
      const params = given.map(([c, l]) => ["given", `${c}:${l}`]);
      params.push(["by", "frequency"]);
      if (version) params.push(["version", version]);
      try {
        const body = await api(`${modelPath(name)}/probabilities`, { params });
        if (mine !== request) return;
        render(body);
        note.textContent = `Learned P(column = label | ${given.map(([c, l]) => `${c} = ${l}`).join(", ")}) next to the unconditional learned probabilities and the training data; shift = TVD between the two.`;
      } catch (e) {
        if (mine !== request) return;
        if (e.status === 401) return handle(e);
        note.textContent = "";
        err.textContent = `Error ${e.status}: ${e.message}`;
      }
    };
    pickers.forEach((p) => p.el.addEventListener("change", update));
    update();
    return h(
      "section",
      { class: "card", "aria-labelledby": "probs-title" },
      h("h2", { id: "probs-title" }, "Probabilities"),
      h(
        "fieldset",
        { class: "given" },
        h("legend", {}, "Given (conditional explorer)"),
        cols.map((c, j) =>
          h("div", { class: "field" }, h("label", { for: `given-${j}` }, c.name), pickers[j].parts),
        ),
      ),
      h(
        "p",
        { class: "legend", "aria-hidden": "true" },
        h("span", { class: "swatch data" }),
        "data ",
        h("span", { class: "swatch learned" }),
        "learned ",
        h("span", { class: "swatch given" }),
        "learned | given",
      ),
      note,
      err,
      bars,
    );
  }

  function rowsTable(body, cols) {
    const dtypes = new Map(cols.map((c) => [c.name, c.dtype]));
    const shown = body.rows.slice(0, TABLE_ROWS);
    return h(
      "div",
      { class: "scroll" },
      h(
        "table",
        { class: "rows" },
        h(
          "caption",
          {},
          `${body.n.toLocaleString("en")} rows from ${body.model} v${body.version}`,
          body.seed !== undefined && body.seed !== null ? ` · seed ${body.seed}` : "",
          body.acceptance_rate !== undefined
            ? ` · acceptance rate ${num(body.acceptance_rate)}`
            : "",
          shown.length < body.rows.length ? ` · first ${shown.length} shown` : "",
        ),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("th", { scope: "col" }, "#"),
            body.columns.map((c) => h("th", { scope: "col" }, c)),
          ),
        ),
        h(
          "tbody",
          {},
          shown.map((row, i) =>
            h(
              "tr",
              {},
              h("td", { class: "num muted" }, String(i + 1)),
              row.map((v, j) => h("td", {}, labelText(v, dtypes.get(body.columns[j])))),
            ),
          ),
        ),
      ),
    );
  }

  function tryIt(name, version, cols) {
    const n = h("input", {
      id: "try-n",
      name: "n",
      type: "number",
      min: "1",
      step: "1",
      value: "20",
      required: true,
    });
    const seed = h("input", {
      id: "try-seed",
      name: "seed",
      type: "number",
      min: "0",
      max: "2147483647",
      placeholder: "default",
    });
    const pickers = cols.map((c, j) => labelPicker(`cond-${j}`, c, "any", () => true));
    const err = h("p", { class: "error", role: "alert" });
    const out = h("div", { class: "sample-out", "aria-live": "polite" });
    const request = (format) => {
      const body = { n: Number(n.value), format };
      if (seed.value !== "") body.seed = Number(seed.value);
      if (version) body.version = version;
      const conditions = {};
      cols.forEach((c, j) => {
        const picked = pickers[j].value();
        if (picked !== null) conditions[c.name] = picked.label;
      });
      if (Object.keys(conditions).length) body.conditions = conditions;
      return body;
    };
    const run = async (format) => {
      err.textContent = "";
      if (!form.reportValidity()) return;
      const body = request(format);
      setStatus(format === "csv" ? "Preparing the CSV…" : "Sampling…");
      try {
        if (format === "csv") {
          const blob = await api(`${modelPath(name)}/sample`, { method: "POST", body, as: "blob" });
          const url = URL.createObjectURL(blob);
          const a = h("a", { href: url, download: `${name}-${body.n}-rows.csv` });
          document.body.append(a);
          a.click();
          a.remove();
          setTimeout(() => URL.revokeObjectURL(url), 10000);
          setStatus(`Downloaded ${body.n.toLocaleString("en")} rows as CSV.`);
        } else {
          const result = await api(`${modelPath(name)}/sample`, { method: "POST", body });
          out.replaceChildren(rowsTable(result, cols));
          setStatus("");
        }
      } catch (e) {
        setStatus("");
        if (e.status === 401) return handle(e);
        err.textContent = `Error ${e.status}: ${e.message}`;
      }
    };
    const form = h(
      "form",
      {
        id: "try-form",
        onsubmit: (e) => {
          e.preventDefault();
          run("json");
        },
      },
      h(
        "div",
        { class: "fields" },
        h("div", { class: "field" }, h("label", { for: "try-n" }, "Rows (n)"), n),
        h("div", { class: "field" }, h("label", { for: "try-seed" }, "Seed"), seed),
      ),
      h(
        "fieldset",
        { class: "given" },
        h("legend", {}, "Conditions (every row satisfies them)"),
        cols.map((c, j) =>
          h("div", { class: "field" }, h("label", { for: `cond-${j}` }, c.name), pickers[j].parts),
        ),
      ),
      h(
        "div",
        { class: "row" },
        h("button", { type: "submit" }, "Sample"),
        h(
          "button",
          { type: "button", class: "secondary", onclick: () => run("csv") },
          "Download CSV",
        ),
      ),
    );
    return h(
      "section",
      { class: "card", "aria-labelledby": "try-title" },
      h("h2", { id: "try-title" }, "Try it"),
      form,
      err,
      out,
    );
  }

  // Cells shaded by the square root of their value, so that weak links still show.
  function heatTable(title, columns, value, caption, hue) {
    const strength = (v) => Math.sqrt(Math.min(1, Math.max(0, v)));
    const color = (v) => `hsl(${hue} 80% ${Math.round(97 - 57 * strength(v))}%)`;
    return h(
      "div",
      { class: "scroll heat-wrap" },
      h(
        "table",
        { class: "heat" },
        h("caption", {}, h("strong", {}, title), h("span", { class: "muted" }, ` ${caption}`)),
        h(
          "thead",
          {},
          h(
            "tr",
            {},
            h("td", {}),
            columns.map((c) => h("th", { scope: "col" }, h("span", {}, c))),
          ),
        ),
        h(
          "tbody",
          {},
          columns.map((a, i) =>
            h(
              "tr",
              {},
              h("th", { scope: "row" }, a),
              columns.map((b, j) => {
                const v = value(i, j);
                const cell = h(
                  "td",
                  { title: v === null ? `${a} × ${b}` : `${a} × ${b}: ${v.toFixed(3)}` },
                  v === null ? "" : v.toFixed(2),
                );
                if (v !== null) {
                  cell.style.backgroundColor = color(v);
                  if (strength(v) > 0.62) cell.classList.add("dark");
                } else {
                  cell.classList.add("blank");
                }
                return cell;
              }),
            ),
          ),
        ),
      ),
    );
  }

  async function dependence(name, params, fidelity) {
    const section = h(
      "section",
      { class: "card", "aria-labelledby": "dep-title" },
      h("h2", { id: "dep-title" }, "Pairwise dependence"),
      h("p", { class: "muted" }, "Computing…"),
    );
    (async () => {
      try {
        const dep = await api(`${modelPath(name)}/dependence`, { params });
        const parts = [
          heatTable(
            "Learned dependence",
            dep.columns,
            (i, j) => (i === j ? null : dep.matrix[i][j]),
            `Cramér's V from ${dep.n.toLocaleString("en")} sampled rows: 0 = independent, 1 = one column determines the other.${dep.truncated ? " First 40 columns." : ""}`,
            221,
          ),
        ];
        const pairs = fidelity && fidelity.sampled_rows && fidelity.sampled_rows.pairwise_tvd;
        if (pairs && Object.keys(pairs).length) {
          const pair = (a, b) => pairs[`${a}|${b}`] ?? pairs[`${b}|${a}`] ?? null;
          parts.push(
            heatTable(
              "Pairwise error",
              dep.columns,
              (i, j) => (i === j ? null : pair(dep.columns[i], dep.columns[j])),
              "TVD between the sampled and the training joint distribution of each pair, from the model card (0 = identical).",
              16,
            ),
          );
        }
        section.replaceChildren(section.firstChild, h("div", { class: "heat-grid" }, parts));
      } catch (e) {
        if (e.status === 401) return handle(e);
        section.replaceChildren(
          section.firstChild,
          h("p", { class: "error", role: "alert" }, `Error ${e.status}: ${e.message}`),
        );
      }
    })();
    return section;
  }

  async function modelCard(name, params) {
    const listing = await api(`${modelPath(name)}/card`, { params });
    const section = h(
      "section",
      { class: "card", "aria-labelledby": "card-title" },
      h("h2", { id: "card-title" }, "Model card"),
    );
    if (!listing.files.length) {
      section.append(
        h("p", { class: "muted" }, "This version has no model card (the training job writes one)."),
      );
      return { section, fidelity: null };
    }
    const fidelity = listing.files.includes("fidelity.json")
      ? await api(`${modelPath(name)}/card/fidelity.json`, { params })
      : null;
    const figures = h("div", { class: "plots" });
    section.append(figures);
    for (const [file, caption] of Object.entries(PLOTS)) {
      if (!listing.files.includes(file)) continue;
      const img = h("img", { alt: caption });
      figures.append(h("figure", {}, img, h("figcaption", {}, caption)));
      api(`${modelPath(name)}/card/${file}`, { params, as: "blob" })
        .then((blob) => {
          const url = URL.createObjectURL(blob);
          blobUrls.push(url);
          img.src = url;
        })
        .catch((e) => {
          img.replaceWith(h("p", { class: "error" }, `Cannot load ${file}: ${e.message}`));
        });
    }
    if (listing.files.includes("model_card.md")) {
      const pre = h("pre", {}, "Loading…");
      section.append(h("details", {}, h("summary", {}, "model_card.md"), pre));
      api(`${modelPath(name)}/card/model_card.md`, { params, as: "blob" })
        .then((blob) => blob.text())
        .then((text) => {
          pre.textContent = text;
        })
        .catch((e) => {
          pre.textContent = e.message;
        });
    }
    return { section, fidelity };
  }

  async function showModel(name, version) {
    setStatus(`Loading ${name}…`);
    const params = version ? [["version", version]] : [];
    const [detail, probs, card] = await Promise.all([
      api(modelPath(name), { params }),
      // by=frequency: a large column's listed labels are those /models/{name} lists
      api(`${modelPath(name)}/probabilities`, { params: [...params, ["by", "frequency"]] }),
      modelCard(name, params),
    ]);
    document.title = `${name} · discrete-gan`;
    const cols = columnInfo(detail.schema);
    const versions = h(
      "select",
      {
        id: "version",
        onchange: (e) => {
          location.hash = `#/models/${enc(name)}/${e.target.value}`;
        },
      },
      detail.versions.map((v) =>
        h("option", { value: v, selected: v === detail.version }, `v${v}`),
      ),
    );
    const fid = detail.fidelity || {};
    const facts = [
      ["Columns", cols.length],
      ["Training rows", detail.rows === null ? "—" : Number(detail.rows).toLocaleString("en")],
      ["Column TVD", num(fid.mean_column_tvd)],
      ["Pairwise TVD", num(fid.mean_pairwise_tvd)],
      ["Created", detail.created ? String(detail.created).slice(0, 19).replace("T", " ") : "—"],
    ];
    show(
      h("p", { class: "crumbs" }, h("a", { href: "#/" }, "Models"), " / ", name),
      h(
        "div",
        { class: "title-row" },
        h("h1", {}, name),
        h("div", { class: "field inline" }, h("label", { for: "version" }, "Version"), versions),
      ),
      h(
        "dl",
        { class: "facts" },
        facts.map(([k, v]) => h("div", {}, h("dt", {}, k), h("dd", {}, String(v)))),
      ),
      explorer(name, version, cols, probs),
      tryIt(name, version, cols),
      await dependence(name, params, card.fidelity),
      card.section,
    );
    setStatus("");
  }

  // ------------------------------------------------------------------ routing
  async function route() {
    releaseBlobs();
    showError(null);
    $("key-panel").hidden = true;
    const parts = location.hash.replace(/^#\/?/, "").split("/").map(decodeURIComponent);
    try {
      if (parts[0] === "models" && parts[1]) await showModel(parts[1], parts[2] || null);
      else await showModels();
    } catch (e) {
      handle(e);
    }
  }

  async function start() {
    let config = { api_key_required: false };
    try {
      config = await (await fetch("/web/config.json")).json();
    } catch {
      // an older service: the first 401 asks for the key instead
    }
    $("forget-key").hidden = !sessionStorage.getItem(KEY);
    if (config.api_key_required && !sessionStorage.getItem(KEY)) {
      askForKey("");
      return;
    }
    route();
  }

  window.addEventListener("hashchange", route);
  start();
})();
