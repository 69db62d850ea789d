/* OrderFlow flow editor, and the read-only canvas of the run and version pages.
 *
 * The server is the source of truth: it draws the settings forms, validates, computes ports and
 * diffs. This file keeps the canvas (drawflow) and the flow JSON of DESIGN.md in step and talks to
 * the API. Sections: helpers · canvas <-> flow JSON · palette · history · selection and settings ·
 * save and autosave · validation pins · dry run · versions, import, export · keyboard · boot.
 */
(function () {
  "use strict";

  // ------------------------------------------------------------------ helpers
  const $ = (sel, root) => (root || document).querySelector(sel);
  const $$ = (sel, root) => Array.from((root || document).querySelectorAll(sel));
  const clone = (v) => (v === undefined ? v : JSON.parse(JSON.stringify(v)));
  const ENTITIES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
  const esc = (s) => String(s == null ? "" : s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
  const csrf = () => ($('meta[name="csrf-token"]') || {}).content || "";

  function debounce(fn, ms) {
    let timer = null;
    const run = (...args) => { clearTimeout(timer); timer = setTimeout(() => fn(...args), ms); };
    run.cancel = () => clearTimeout(timer);
    return run;
  }

  async function api(method, url, body, headers) {
    const init = { method, credentials: "same-origin",
      headers: Object.assign({ Accept: "application/json", "X-CSRF-Token": csrf() }, headers || {}) };
    if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    let response;
    try { response = await fetch(url, init); } catch (err) {
      return { ok: false, status: 0, data: { error: "the server cannot be reached (" + err.message + ")" } };
    }
    let data = {};
    try { data = await response.json(); } catch (err) { data = {}; }
    return { ok: response.ok, status: response.status, data: data || {} };
  }

  function errorText(res) {
    const d = res.data || {};
    const details = (d.details || []).slice(0, 5).map((x) => (x.path ? x.path + ": " : "") + x.message).join("; ");
    return (d.error || "HTTP " + res.status) + (details ? " — " + details : "");
  }

  function toast(message, kind) {
    let box = $("#toast");
    if (!box) { box = document.createElement("div"); box.id = "toast"; box.setAttribute("role", "status"); document.body.appendChild(box); }
    box.className = "toast " + (kind || "");
    box.textContent = message;
    box.hidden = false;
    clearTimeout(toast.timer);
    toast.timer = setTimeout(() => { box.hidden = true; }, kind === "error" ? 8000 : 4000);
  }

  const getIn = (obj, keys) => keys.reduce((o, k) => (o == null ? undefined : o[k]), obj);
  function setIn(obj, keys, value) {
    let o = obj;
    keys.slice(0, -1).forEach((k, i) => { if (o[k] == null) o[k] = typeof keys[i + 1] === "number" ? [] : {}; o = o[k]; });
    o[keys[keys.length - 1]] = value;
  }

  // ------------------------------------------------------------------ canvas <-> flow JSON
  // One drawflow node per flow node. The flow node (id, type, version, name, config, ui) and its
  // output port names live in the drawflow node's data: output_k is ports[k-1], and a node has at
  // most one input. Wires drawflow cannot hold (to unknown nodes, duplicates) are kept aside and
  // written back as they were, so opening and saving a flow never drops anything.
  function createCanvas(container, nodeTypes, readonly) {
    const types = new Map(nodeTypes.map((t) => [t.type + "@" + t.version, t]));
    const df = new Drawflow(container);
    Object.assign(df, { curvature: 0.35, zoom_min: 0.1, zoom_max: 2, line_path: 3 });
    df.editor_mode = readonly ? "view" : "edit";
    df.key = () => {}; // Delete goes through the editor so that it can be undone
    df.start();
    let byId = new Map(); // flow node id -> drawflow id
    let orphans = [], orphanNodes = []; // what cannot be drawn is written back as it was
    let quiet = 0; // > 0 while the canvas changes itself (render, ports): not a user edit
    const data = () => df.drawflow.drawflow.Home.data;
    const typeOf = (node) => types.get(node.type + "@" + (node.version || 1));
    const elOf = (dfId) => container.querySelector("#node-" + dfId);
    const outIndex = (key) => parseInt(key.slice(7), 10) - 1;

    function summary(node) {
      const parts = Object.entries(node.config || {}).map(([k, v]) =>
        Array.isArray(v) ? (v.length ? k + ": " + (v.every((x) => typeof x !== "object") ? v.join(", ") : v.length) : null)
          : v === null || typeof v === "object" || v === "" ? null : k + ": " + v).filter(Boolean);
      const text = parts.slice(0, 2).join(" · ");
      return text.length > 42 ? text.slice(0, 41) + "…" : text;
    }

    function nodeHtml(node) {
      const t = typeOf(node);
      const title = t ? t.title : node.type + " (unknown)";
      return '<div class="node-card"><div class="node-head"><span class="glyph">' + esc(t ? t.glyph : "?") +
        '</span><span class="node-title">' + esc(node.name || title) + '</span><span class="node-pin" hidden></span></div>' +
        '<div class="node-sub"><code>' + esc(node.id) + "</code> " + esc(node.name ? title : summary(node)) + "</div>" +
        '<div class="node-result"></div></div>';
    }

    function layout(nodes, edges) {
      // Nodes without a saved position are laid out left to right by their distance from a root.
      const depth = new Map(nodes.map((n) => [n.id, 0]));
      for (let round = 0; round < nodes.length; round++) {
        let moved = false;
        edges.forEach((e) => {
          if (e && depth.has(e.from) && depth.has(e.to) && depth.get(e.to) < depth.get(e.from) + 1 && depth.get(e.from) < nodes.length) {
            depth.set(e.to, depth.get(e.from) + 1); moved = true;
          }
        });
        if (!moved) break;
      }
      const rows = new Map();
      return nodes.map((n) => {
        const ui = n.ui || {};
        if (typeof ui.x === "number" && typeof ui.y === "number") return { x: ui.x, y: ui.y };
        const d = depth.get(n.id) || 0;
        rows.set(d, (rows.get(d) || 0) + 1);
        return { x: 40 + d * 260, y: 40 + (rows.get(d) - 1) * 130 };
      });
    }

    function decorate(dfId) {
      const d = data()[dfId], el = elOf(dfId);
      if (!d || !el) return;
      el.dataset.nodeId = d.data.node.id;
      el.dataset.type = d.data.node.type;
      $$(".outputs .output", el).forEach((o, i) => {
        o.dataset.port = d.data.ports[i];
        o.title = "port " + d.data.ports[i];
      });
      el.classList.toggle("single-out", d.data.ports.length === 1 && d.data.ports[0] === "out");
    }

    function reindex() {
      byId = new Map();
      Object.keys(data()).map(Number).sort((a, b) => a - b).forEach((id) => {
        const nid = data()[id].data.node.id;
        if (!byId.has(nid)) byId.set(nid, id);
      });
    }

    function render(flow, ports) {
      quiet++;
      const all = Array.isArray(flow.nodes) ? flow.nodes : [];
      const nodes = all.filter((n) => n && typeof n.id === "string" && typeof n.type === "string");
      orphanNodes = clone(all.filter((n) => !nodes.includes(n)));
      const edges = Array.isArray(flow.edges) ? flow.edges : [];
      const positions = layout(nodes, edges);
      const out = {};
      byId = new Map();
      orphans = [];
      nodes.forEach((node, i) => {
        const dfId = i + 1, t = typeOf(node);
        if (!byId.has(node.id)) byId.set(node.id, dfId);
        const nodePorts = (ports && ports[node.id]) || (t ? t.ports.slice() : ["out"]);
        const outputs = {};
        nodePorts.forEach((p, k) => { outputs["output_" + (k + 1)] = { connections: [] }; });
        out[dfId] = { id: dfId, name: node.type, data: { node: clone(node), ports: nodePorts.slice() },
          class: "flow-node cat-" + (t ? t.category : "unknown"), html: nodeHtml(node), typenode: false,
          inputs: !t || t.has_input !== false ? { input_1: { connections: [] } } : {}, outputs,
          pos_x: positions[i].x, pos_y: positions[i].y };
      });
      edges.forEach((e) => {
        const src = e && byId.get(e.from), dst = e && byId.get(e.to);
        const k = src ? out[src].data.ports.indexOf((e && e.port) || "out") : -1;
        const key = "output_" + (k + 1);
        if (!src || !dst || k < 0 || src === dst || !out[dst].inputs.input_1 ||
            out[src].outputs[key].connections.some((c) => c.node === String(dst))) { orphans.push(clone(e)); return; }
        out[src].outputs[key].connections.push({ node: String(dst), output: "input_1" });
        out[dst].inputs.input_1.connections.push({ node: String(src), input: key });
      });
      // drawflow ids are reused by a new drawing: a selection must not point at another node
      df.node_selected = null;
      df.connection_selected = null;
      df.import({ drawflow: { Home: { data: out } } });
      Object.keys(out).forEach(decorate);
      quiet--;
    }

    function toFlow() {
      const d = data();
      const ids = Object.keys(d).map(Number).sort((a, b) => a - b);
      const nodes = ids.map((id) => {
        const n = d[id].data.node, o = { id: n.id, type: n.type };
        if (n.version && n.version !== 1) o.version = n.version;
        if (n.name) o.name = n.name;
        o.config = n.config || {};
        o.ui = Object.assign({}, n.ui || {}, { x: Math.round(d[id].pos_x), y: Math.round(d[id].pos_y) });
        return o;
      });
      const edges = [];
      ids.forEach((id) => {
        Object.keys(d[id].outputs).sort((a, b) => outIndex(a) - outIndex(b)).forEach((key) => {
          const port = d[id].data.ports[outIndex(key)];
          d[id].outputs[key].connections.forEach((c) => {
            if (!d[c.node]) return;
            const from = d[id].data.node.id, to = d[c.node].data.node.id;
            edges.push(port === "out" ? { from, to } : { from, port, to });
          });
        });
      });
      return { nodes: nodes.concat(clone(orphanNodes)), edges: edges.concat(clone(orphans)) };
    }

    function portsMap() {
      const m = {};
      Object.values(data()).forEach((d) => { m[d.data.node.id] = d.data.ports.slice(); });
      return m;
    }

    function addNode(node, ports) {
      quiet++;
      const t = typeOf(node);
      const dfId = df.addNode(node.type, t && t.has_input === false ? 0 : 1, ports.length, node.ui.x, node.ui.y,
        "flow-node cat-" + (t ? t.category : "unknown"), { node: clone(node), ports: ports.slice() }, nodeHtml(node));
      byId.set(node.id, dfId);
      decorate(dfId);
      quiet--;
      return dfId;
    }

    function setPorts(dfId, ports) {
      // A renamed port keeps its wires: a wire follows its port's name, else its position.
      const d = data()[dfId], old = d.data.ports;
      if (JSON.stringify(old) === JSON.stringify(ports)) return;
      quiet++;
      const wires = [];
      old.forEach((p, i) => (d.outputs["output_" + (i + 1)] || { connections: [] }).connections.forEach((c) => wires.push({ port: p, index: i, node: c.node })));
      wires.forEach((w) => df.removeSingleConnection(dfId, w.node, "output_" + (w.index + 1), "input_1"));
      while (Object.keys(data()[dfId].outputs).length < ports.length) df.addNodeOutput(dfId);
      while (Object.keys(data()[dfId].outputs).length > ports.length) {
        df.removeNodeOutput(dfId, "output_" + Object.keys(data()[dfId].outputs).length);
      }
      data()[dfId].data.ports = ports.slice();
      wires.forEach((w) => {
        let j = ports.indexOf(w.port);
        if (j < 0 && w.index < ports.length && !old.includes(ports[w.index])) j = w.index;
        if (j >= 0) df.addConnection(dfId, w.node, "output_" + (j + 1), "input_1");
      });
      decorate(dfId);
      quiet--;
    }

    function updateNode(id, node, ports) {
      const dfId = byId.get(id);
      if (!dfId) return;
      data()[dfId].data.node = clone(node);
      const content = elOf(dfId).querySelector(".drawflow_content_node");
      content.innerHTML = nodeHtml(node);
      if (ports) setPorts(dfId, ports);
      decorate(dfId);
    }

    function select(id, center) {
      const dfId = byId.get(id), el = dfId && elOf(dfId);
      if (!el) return;
      if (df.node_selected && df.node_selected !== el) { df.node_selected.classList.remove("selected"); df.dispatch("nodeUnselected", true); }
      if (df.connection_selected) { df.connection_selected.classList.remove("selected"); df.connection_selected = null; }
      const changed = df.node_selected !== el;
      df.node_selected = el;
      el.classList.add("selected");
      if (changed) df.dispatch("nodeSelected", String(dfId));
      if (center) centerOn(el);
    }

    function unselect() {
      if (df.node_selected) { df.node_selected.classList.remove("selected"); df.node_selected = null; df.dispatch("nodeUnselected", true); }
      if (df.connection_selected) { df.connection_selected.classList.remove("selected"); df.connection_selected = null; }
    }

    function removeSelection() {
      if (df.node_selected) {
        quiet++;
        df.removeNodeId(df.node_selected.id);
        quiet--;
        df.node_selected = null;
        reindex();
        df.dispatch("nodeUnselected", true);
        return true;
      }
      if (df.connection_selected) { quiet++; df.removeConnection(); quiet--; return true; }
      return false;
    }

    function setView(zoom, x, y) {
      Object.assign(df, { zoom, zoom_last_value: zoom, canvas_x: x, canvas_y: y });
      df.precanvas.style.transform = "translate(" + x + "px, " + y + "px) scale(" + zoom + ")";
    }

    // drawflow scales its canvas around the canvas centre (c): screen = t + c(1 - z) + p z
    function offsetFor(p, z, screen, size) { return screen - p * z - (size / 2) * (1 - z); }

    function fit() {
      const boxes = Object.keys(data()).map((id) => ({ d: data()[id], el: elOf(id) })).filter((b) => b.el);
      if (!boxes.length) { setView(1, 0, 0); return; }
      const minX = Math.min(...boxes.map((b) => b.d.pos_x)), minY = Math.min(...boxes.map((b) => b.d.pos_y));
      const maxX = Math.max(...boxes.map((b) => b.d.pos_x + b.el.offsetWidth + 60));
      const maxY = Math.max(...boxes.map((b) => b.d.pos_y + b.el.offsetHeight));
      const W = container.clientWidth, H = container.clientHeight, pad = 30;
      const z = Math.max(df.zoom_min, Math.min(1, (W - 2 * pad) / (maxX - minX || 1), (H - 2 * pad) / (maxY - minY || 1)));
      const pw = df.precanvas.clientWidth, ph = df.precanvas.clientHeight;
      setView(z, offsetFor(minX, z, (W - (maxX - minX) * z) / 2, pw), offsetFor(minY, z, (H - (maxY - minY) * z) / 2, ph));
    }

    function centerOn(el) {
      const d = data()[el.id.slice(5)], z = df.zoom;
      const W = container.clientWidth, H = container.clientHeight;
      setView(z, offsetFor(d.pos_x + el.offsetWidth / 2, z, W / 2, df.precanvas.clientWidth),
        offsetFor(d.pos_y + el.offsetHeight / 2, z, H / 2, df.precanvas.clientHeight));
    }

    function toCanvasPoint(clientX, clientY) {
      const r = df.precanvas.getBoundingClientRect();
      return { x: (clientX - r.x) / df.zoom, y: (clientY - r.y) / df.zoom };
    }

    function newId(type) {
      const prefix = type.startsWith("trigger.") ? "t" : (type.split(".").pop()[0] || "n");
      let n = 1;
      while (byId.has(prefix + n)) n++;
      return prefix + n;
    }

    function pin(problems) {
      const byNode = new Map();
      problems.forEach((p) => { if (p.node_id) byNode.set(p.node_id, (byNode.get(p.node_id) || []).concat(p.message)); });
      Object.keys(data()).forEach((dfId) => {
        const el = elOf(dfId), messages = byNode.get(data()[dfId].data.node.id) || [];
        if (!el) return;
        el.classList.toggle("has-problems", messages.length > 0);
        const badge = el.querySelector(".node-pin");
        badge.hidden = !messages.length;
        badge.textContent = messages.length ? "!" + (messages.length > 1 ? messages.length : "") : "";
        badge.title = messages.join("\n");
      });
    }

    function clearHighlight() {
      $$(".ran, .ran-failed, .ran-waiting", container).forEach((el) => el.classList.remove("ran", "ran-failed", "ran-waiting"));
      $$(".node-result", container).forEach((el) => { el.textContent = ""; });
    }

    function highlight(path, steps) {
      // Nodes a run went through, and the wires it took: from a node's chosen port to a visited node.
      clearHighlight();
      const visited = new Set(path || (steps || []).map((s) => s.node_id));
      (steps || []).forEach((s) => {
        const dfId = byId.get(s.node_id), el = dfId && elOf(dfId);
        if (!el) return;
        el.classList.add("ran");
        if (s.status === "failed") el.classList.add("ran-failed");
        if (s.status === "waiting") el.classList.add("ran-waiting");
        if (s.port) el.querySelector(".node-result").textContent = "→ " + s.port;
        const k = s.port ? data()[dfId].data.ports.indexOf(s.port) : -1;
        if (k < 0 || !data()[dfId].outputs["output_" + (k + 1)]) return;
        data()[dfId].outputs["output_" + (k + 1)].connections.forEach((c) => {
          if (!data()[c.node] || !visited.has(data()[c.node].data.node.id)) return;
          const wire = container.querySelector(".connection.node_out_node-" + dfId + ".node_in_node-" + c.node + ".output_" + (k + 1));
          if (wire) wire.classList.add("ran");
        });
      });
    }

    return {
      df, render, toFlow, portsMap, addNode, updateNode, setPorts, select, unselect, removeSelection, fit,
      toCanvasPoint, newId, pin, highlight, clearHighlight, reindex, typeOf,
      isQuiet: () => quiet > 0,
      has: (id) => byId.has(id),
      nodeOf: (id) => (byId.has(id) ? clone(data()[byId.get(id)].data.node) : null),
      idOf: (dfId) => (data()[dfId] ? data()[dfId].data.node.id : null),
      indexOf: (id) => Object.keys(data()).map(Number).sort((a, b) => a - b).indexOf(byId.get(id)),
    };
  }

  window.OrderFlowCanvas = { createCanvas };

  // ------------------------------------------------------------------ the editor
  function startEditor(root) {
    const bootStart = performance.now();
    const boot = JSON.parse($("#editor-data").textContent);
    const urls = boot.urls, readonly = boot.readonly;
    const types = new Map(boot.node_types.map((t) => [t.type + "@" + t.version, t]));
    const canvas = createCanvas($("#canvas"), boot.node_types, readonly);
    const df = canvas.df;
    const nameInput = $("#flow-name"), descInput = $("#flow-description");
    const state = { rev: boot.flow.draft_rev, published: boot.flow.published_version, active: boot.flow.active,
      conflict: false, saving: null, savedSnap: null, selected: null, problems: [], extra: {}, formPending: false,
      formSeq: 0, appliedSeq: 0 };
    const history = { past: [], future: [], current: null };

    function composeFlow() {
      const body = canvas.toFlow();
      const flow = Object.assign({}, state.extra, { schema_version: state.schemaVersion, name: nameInput.value.trim() || "Untitled flow" });
      if (descInput.value.trim()) flow.description = descInput.value.trim();
      flow.nodes = body.nodes;
      flow.edges = body.edges;
      return flow;
    }

    function loadFlow(flow, ports) {
      flow = flow && typeof flow === "object" ? flow : {};
      state.extra = {};
      Object.keys(flow).forEach((k) => { if (!["schema_version", "name", "description", "nodes", "edges"].includes(k)) state.extra[k] = flow[k]; });
      state.schemaVersion = flow.schema_version === undefined ? 1 : flow.schema_version;
      nameInput.value = typeof flow.name === "string" ? flow.name : "";
      descInput.value = typeof flow.description === "string" ? flow.description : "";
      canvas.render(flow, ports);
      canvas.pin(state.problems);
    }

    async function loadDefinition(definition) {
      const res = await api("POST", urls.validate, definition);
      loadFlow(definition, res.ok ? res.data.ports : {});
      if (res.ok) showProblems(res.data.problems || []);
    }

    // ---------------------------------------------------------------- history (undo / redo)
    const snapshot = () => JSON.stringify({ flow: composeFlow(), ports: canvas.portsMap() });
    const dirty = () => history.current !== state.savedSnap;

    function resetHistory() {
      history.past = []; history.future = [];
      history.current = state.savedSnap = snapshot();
      afterChange(false);
    }

    function commit() {
      const snap = snapshot();
      if (snap === history.current) return;
      history.past.push(history.current);
      if (history.past.length > 200) history.past.shift();
      history.future = [];
      history.current = snap;
      afterChange(true);
    }
    let commitTimer = null;
    const commitSoon = () => { clearTimeout(commitTimer); commitTimer = setTimeout(commit, 0); };

    function travel(from, to) {
      if (!from.length) return;
      to.push(history.current);
      history.current = from.pop();
      const { flow, ports } = JSON.parse(history.current);
      const selected = state.selected;
      closeSettings();
      loadFlow(flow, ports);
      if (selected && canvas.has(selected)) canvas.select(selected);
      afterChange(true);
    }

    function afterChange(edited) {
      $('[data-cmd="undo"]').disabled = readonly || !history.past.length;
      $('[data-cmd="redo"]').disabled = readonly || !history.future.length;
      if (!edited) return;
      canvas.clearHighlight();
      showSaveState();
      scheduleValidate();
      if (!readonly) autosave();
    }

    // ---------------------------------------------------------------- selection and settings
    let settingsSeq = 0;
    async function openSettings(id) {
      const node = canvas.nodeOf(id);
      if (!node) return;
      state.selected = id;
      showTab("settings");
      $("#flow-settings").hidden = true;
      const seq = ++settingsSeq;
      const response = await fetch(urls.settings, { method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" }, body: new URLSearchParams({ node: JSON.stringify(node) }) });
      const html = await response.text();
      if (seq !== settingsSeq || state.selected !== id) return;
      $("#settings").innerHTML = html;
      htmx.process($("#settings"));
      markFields();
    }

    function closeSettings() {
      settingsSeq++;
      state.selected = null;
      const form = $("#settings-form");
      if (form && state.formPending) {
        // An edit not yet answered: keep the form in the page (hidden) until its answer arrives,
        // so the answer still reaches the canvas after the user has moved on to another node.
        form.id = "";
        $("#settings-limbo").appendChild(form);
        setTimeout(() => form.remove(), 5000);
        htmx.trigger(form, "change");
      }
      $("#settings").innerHTML = "";
      $("#flow-settings").hidden = false;
    }
    document.body.addEventListener("htmx:afterRequest", (e) => {
      const form = e.detail.elt.closest && e.detail.elt.closest("#settings-limbo form");
      if (form) form.remove();
    });

    // Every edit in the settings form gets a number, sent with the form and echoed in its answer:
    // the canvas takes only answers at least as new as the last one, and a save waits for the last edit.
    document.body.addEventListener("input", (e) => {
      if (!e.target.closest("#settings-form")) return;
      state.formSeq++;
      state.formPending = true;
      if (!state.saving) showSaveState();
    });
    document.body.addEventListener("htmx:configRequest", (e) => {
      if (e.detail.elt.closest && e.detail.elt.closest("#settings-form")) e.detail.parameters._seq = String(state.formSeq);
    });
    document.body.addEventListener("orderflow:config", (e) => {
      const d = e.detail, seq = Number((d && d.seq) || 0);
      if (!d || seq < state.appliedSeq) return;
      state.appliedSeq = seq;
      if (seq >= state.formSeq) state.formPending = false;
      state.parseErrors = d.errors || [];
      if (!canvas.has(d.node_id) || !d.config) { markFields(); return; } // no config: keep the stored one
      const node = canvas.nodeOf(d.node_id);
      const config = d.config;
      (d.kept || []).forEach((keys) => { const v = getIn(node.config, keys); if (v !== undefined) setIn(config, keys, v); });
      node.config = config;
      if (d.name) node.name = d.name; else delete node.name;
      canvas.updateNode(d.node_id, node, d.ports || null);
      canvas.pin(state.problems);
      commit();
    });
    document.body.addEventListener("htmx:afterSwap", (e) => { if (e.target.id === "settings-form" || $("#settings-form")) markFields(); });

    function settleForm() {
      // Ctrl+S while typing: send the settings form now and wait for the answer to the last edit.
      const form = $("#settings-form") || $("#settings-limbo form"), target = state.formSeq;
      if (!form || !state.formPending || state.appliedSeq >= target) return Promise.resolve();
      return new Promise((resolve) => {
        const done = () => { document.body.removeEventListener("orderflow:config", check); clearTimeout(timer); resolve(); };
        const check = () => { if (state.appliedSeq >= target) done(); };
        const timer = setTimeout(done, 3000);
        document.body.addEventListener("orderflow:config", check);
        htmx.trigger(form, "change");
      });
    }

    // ---------------------------------------------------------------- save and autosave
    const autosave = debounce(() => { if (dirty() && !state.conflict) save(); }, 2000);

    function showSaveState(text) {
      const el = $("#save-state"), unsaved = dirty() || state.formPending;
      el.textContent = text || (state.conflict ? "Not saved: conflict" : unsaved ? "Unsaved changes" : "Saved · rev " + state.rev);
      el.className = "save-state " + (state.conflict ? "bad" : unsaved ? "dirty" : "ok");
    }

    async function save() {
      if (readonly || state.conflict) return false;
      showSaveState("Saving…");
      await settleForm();
      metaChanged.cancel();
      commit(); // whatever is typed in the name and description boxes goes too
      if (state.saving) {
        // one save at a time: each needs the revision the one before it produced
        while (state.saving) await state.saving;
        if (!dirty()) return !state.conflict;
      }
      autosave.cancel();
      const snap = history.current;
      showSaveState("Saving…");
      state.saving = api("PUT", urls.draft, JSON.parse(snap).flow, { "If-Match": String(state.rev) });
      const res = await state.saving;
      state.saving = null;
      if (res.status === 412) {
        state.conflict = true;
        $("#conflict").hidden = false;
        $("#conflict-detail").textContent = ((res.data.details || [])[0] || {}).message || "";
        showSaveState();
        return false;
      }
      if (!res.ok) { showSaveState("Not saved: " + errorText(res)); toast("Not saved: " + errorText(res), "error"); return false; }
      state.rev = res.data.draft_rev;
      state.savedSnap = snap;
      if (history.current === snap) showProblems(res.data.problems || []);
      showSaveState();
      if (dirty()) autosave();
      return true;
    }

    async function reloadFromServer() {
      const res = await api("GET", urls.flow);
      if (!res.ok) { toast(errorText(res), "error"); return; }
      applyServerFlow(res.data);
    }

    async function applyServerFlow(flow) {
      Object.assign(state, { rev: flow.draft_rev, published: flow.published_version, active: flow.active, conflict: false });
      $("#conflict").hidden = true;
      closeSettings();
      state.problems = flow.problems || [];
      await loadDefinition(flow.draft);
      resetHistory();
      showSaveState();
      updatePublishState();
      if (!$('[data-panel="versions"]').hidden) refreshVersions();
    }

    function download(name, text) {
      const a = document.createElement("a");
      a.href = URL.createObjectURL(new Blob([text], { type: "application/json" }));
      a.download = name;
      document.body.appendChild(a);
      a.click();
      setTimeout(() => { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    }

    // ---------------------------------------------------------------- validation pins
    let validateSeq = 0;
    const scheduleValidate = debounce(async () => {
      const seq = ++validateSeq;
      const res = await api("POST", urls.validate, composeFlow());
      if (seq === validateSeq && res.ok) showProblems(res.data.problems || []);
    }, 250);

    function showProblems(problems) {
      state.problems = problems;
      const list = $("#problem-list"), count = $("#problem-count");
      count.textContent = problems.length;
      count.className = "badge " + (problems.length ? "bad" : "ok");
      list.innerHTML = problems.length ? "" : '<li class="ok-text">No problems: this flow can be published.</li>';
      problems.forEach((p) => {
        const li = document.createElement("li");
        li.className = "problem" + (p.node_id ? " has-node" : "");
        if (p.node_id) { li.dataset.nodeId = p.node_id; li.tabIndex = 0; }
        li.innerHTML = (p.node_id ? "<code>" + esc(p.node_id) + "</code> " : "") + esc(p.message) +
          ' <small class="muted">' + esc(p.path) + "</small>";
        list.appendChild(li);
      });
      canvas.pin(problems);
      markFields();
    }

    function markFields() {
      // Put the selected node's problems next to the fields they concern.
      const form = $("#settings-form");
      if (!form) return;
      const id = form.dataset.nodeId, prefix = "$.nodes[" + canvas.indexOf(id) + "].config";
      const byPath = new Map();
      const add = (path, message) => byPath.set(path, (byPath.get(path) || []).concat(message));
      state.problems.forEach((p) => {
        if (p.node_id !== id || !p.path.startsWith(prefix)) return;
        let path = "$" + p.path.slice(prefix.length);
        const missing = /^'([^']+)' is a required property$/.exec(p.message);
        if (missing) { path += "." + missing[1]; add(path, "This field is required."); } else add(path, p.message);
      });
      (state.parseErrors || []).forEach((e) => add(e.path, e.message));
      $$("[data-path]", form).forEach((el) => {
        const messages = byPath.get(el.dataset.path) || [];
        const slot = $(":scope > .field-error", el);
        if (slot) slot.textContent = messages.join(" · ");
        el.classList.toggle("has-error", messages.length > 0);
        $$(":scope > input, :scope > select, :scope > textarea", el).forEach((input) => {
          if (messages.length) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
        });
      });
    }

    $("#problem-list").addEventListener("click", (e) => {
      const li = e.target.closest("li[data-node-id]");
      if (li) canvas.select(li.dataset.nodeId, true);
    });

    // ---------------------------------------------------------------- palette
    function addFromPalette(item, clientX, clientY) {
      const t = types.get(item.dataset.type + "@" + item.dataset.version);
      if (!t || readonly) return;
      let point;
      if (clientX === undefined) {
        const r = $("#canvas").getBoundingClientRect();
        addFromPalette.count = ((addFromPalette.count || 0) + 1) % 8;
        point = canvas.toCanvasPoint(r.x + r.width / 3 + addFromPalette.count * 24, r.y + r.height / 3 + addFromPalette.count * 24);
      } else point = canvas.toCanvasPoint(clientX, clientY);
      const node = { id: canvas.newId(t.type), type: t.type };
      if (t.version !== 1) node.version = t.version;
      node.config = clone(t.default_config);
      node.ui = { x: Math.round(point.x - 30), y: Math.round(point.y - 20) };
      canvas.addNode(node, t.ports);
      commit();
      canvas.select(node.id);
    }

    function initPalette() {
      const search = $("#palette-search");
      search.addEventListener("input", () => {
        const q = search.value.trim().toLowerCase();
        let shown = 0;
        $$(".palette-group").forEach((g) => {
          let any = false;
          $$(".palette-item", g).forEach((item) => { item.hidden = !!q && !item.dataset.search.includes(q); any = any || !item.hidden; });
          g.hidden = !any;
          shown += any ? 1 : 0;
        });
        $(".palette-empty").hidden = shown > 0;
      });
      let drag = null;
      $$(".palette-item").forEach((item) => {
        item.addEventListener("mousedown", (e) => {
          if (e.button !== 0 || readonly) return;
          e.preventDefault();
          drag = { item, x: e.clientX, y: e.clientY, ghost: null };
        });
        item.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); addFromPalette(item); } });
      });
      document.addEventListener("mousemove", (e) => {
        if (!drag) return;
        if (!drag.ghost && Math.hypot(e.clientX - drag.x, e.clientY - drag.y) > 4) {
          drag.ghost = drag.item.cloneNode(true);
          drag.ghost.className = "palette-item palette-ghost";
          document.body.appendChild(drag.ghost);
        }
        if (drag.ghost) { drag.ghost.style.left = e.clientX + 6 + "px"; drag.ghost.style.top = e.clientY + 6 + "px"; }
      });
      document.addEventListener("mouseup", (e) => {
        if (!drag) return;
        const { item, ghost } = drag;
        drag = null;
        if (!ghost) { addFromPalette(item); return; }
        ghost.remove();
        const r = $("#canvas").getBoundingClientRect();
        if (e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom) addFromPalette(item, e.clientX, e.clientY);
      });
    }

    // ---------------------------------------------------------------- dry run
    let ordersLoaded = false;
    async function loadOrders() {
      if (ordersLoaded) return;
      ordersLoaded = true;
      const res = await api("GET", urls.orders + "?limit=20");
      const pick = $("#test-pick");
      (res.data.items || []).forEach((o) => {
        const opt = document.createElement("option");
        opt.value = o.id;
        opt.textContent = o.id + " · " + (o.status || "") + " · " + (o.amount == null ? "" : o.amount) + " " + (o.channel || "");
        opt.dataset.order = JSON.stringify(o);
        pick.appendChild(opt);
      });
    }
    $("#test-pick").addEventListener("change", (e) => {
      const opt = e.target.selectedOptions[0];
      if (opt && opt.dataset.order) $("#test-order").value = JSON.stringify(JSON.parse(opt.dataset.order), null, 2);
    });

    async function runTest() {
      const out = $("#test-result");
      let order;
      try { order = JSON.parse($("#test-order").value); } catch (err) { out.innerHTML = '<p class="error" role="alert">Order JSON: ' + esc(err.message) + "</p>"; return; }
      if (!order || typeof order !== "object" || Array.isArray(order)) { out.innerHTML = '<p class="error" role="alert">The order must be a JSON object.</p>'; return; }
      out.innerHTML = '<p class="muted">Running…</p>';
      const res = await api("POST", urls.test, { order, event_type: $("#test-event").value, definition: composeFlow() });
      if (res.status === 422) {
        showProblems(res.data.details || []);
        out.innerHTML = '<p class="error" role="alert">Fix the ' + (res.data.details || []).length + " problem(s) before a test run.</p>";
        return;
      }
      if (!res.ok) { out.innerHTML = '<p class="error" role="alert">' + esc(errorText(res)) + "</p>"; return; }
      const r = res.data;
      canvas.highlight(r.path, r.steps);
      out.innerHTML = '<p>Result: <span class="status ' + esc(r.status) + '" data-test-status="' + esc(r.status) + '">' + esc(r.status) + "</span> · path " +
        (r.path || []).map((id) => "<code>" + esc(id) + "</code>").join(" → ") + "</p>" +
        (r.error ? '<p class="error">' + esc(r.error) + "</p>" : "") + '<ol class="steps test-steps">' +
        (r.steps || []).map((s) => '<li class="step ' + esc(s.status) + '" data-node-id="' + esc(s.node_id) + '"><div class="step-head"><strong>' +
          esc(s.node_id) + '</strong> <span class="muted">' + esc(s.node_type) + "</span>" + (s.port ? " → <code>" + esc(s.port) + "</code>" : "") +
          "</div>" + (s.error ? '<div class="error">' + esc(s.error) + "</div>" : "") +
          "<pre>" + esc(JSON.stringify(s.output, null, 2)) + "</pre></li>").join("") + "</ol>";
    }
    $("#test-form").addEventListener("submit", (e) => { e.preventDefault(); runTest(); });
    $("#test-result").addEventListener("click", (e) => { const li = e.target.closest("[data-node-id]"); if (li) canvas.select(li.dataset.nodeId, true); });

    // ---------------------------------------------------------------- versions, publish, import, export
    function refreshVersions() { htmx.ajax("GET", urls.versions, { target: "#versions", swap: "innerHTML" }); }

    function updatePublishState() {
      const el = $("#publish-state");
      el.textContent = state.published ? "v" + state.published + (state.active ? " live" : " inactive") : "not published";
      el.className = "badge " + (state.published && state.active ? "ok" : "");
      const off = $('[data-cmd="unpublish"]');
      if (off) off.disabled = !state.active;
    }

    async function serverAction(url, what) {
      if (dirty() && !confirm(what + ": the unsaved changes on the canvas will be lost. Continue?")) return;
      const res = await api("POST", url, undefined, { "If-Match": String(state.rev) });
      if (res.status === 412) { state.conflict = true; $("#conflict").hidden = false; showSaveState(); return; }
      if (!res.ok) { toast(what + " failed: " + errorText(res), "error"); return; }
      await applyServerFlow(res.data);
      toast(what + ": done.");
    }

    $("#versions").addEventListener("click", (e) => {
      const restore = e.target.closest("[data-restore]"), discard = e.target.closest("[data-discard]");
      if (restore) serverAction(urls.restore + restore.dataset.restore + "/restore", "Restore version " + restore.dataset.restore);
      if (discard) serverAction(urls.discard, "Discard the draft");
    });

    async function publish() {
      if (state.conflict) return;
      if (dirty() && !(await save())) return;
      const res = await api("POST", urls.publish);
      if (res.status === 422) {
        showProblems(res.data.details || []);
        toast("Not published: the draft has " + (res.data.details || []).length + " problem(s).", "error");
        return;
      }
      if (!res.ok) { toast("Not published: " + errorText(res), "error"); return; }
      Object.assign(state, { published: res.data.published_version, active: res.data.active });
      updatePublishState();
      toast("Published version " + state.published + ".");
      refreshVersions();
    }

    async function unpublish() {
      const res = await api("POST", urls.unpublish);
      if (!res.ok) { toast(errorText(res), "error"); return; }
      state.active = res.data.active;
      updatePublishState();
      toast("Deactivated: new events no longer start this flow.");
      refreshVersions();
    }

    async function importFile(file) {
      let definition;
      try { definition = JSON.parse(await file.text()); } catch (err) { toast("Not imported: " + file.name + " is not JSON (" + err.message + ")", "error"); return; }
      if (dirty() && !confirm("Importing replaces the draft and the unsaved changes on the canvas. Continue?")) return;
      const res = await api("POST", urls.import, definition, { "If-Match": String(state.rev) });
      if (res.status === 412) { state.conflict = true; $("#conflict").hidden = false; showSaveState(); return; }
      if (!res.ok) { toast("Not imported: " + errorText(res), "error"); return; }
      await applyServerFlow(res.data);
      toast("Imported " + file.name + ".");
    }

    // ---------------------------------------------------------------- commands and keyboard
    function showTab(name) {
      $$(".side-tabs [data-tab]").forEach((b) => b.setAttribute("aria-selected", String(b.dataset.tab === name)));
      $$(".side-panel").forEach((p) => { p.hidden = p.dataset.panel !== name; });
      if (name === "versions") refreshVersions();
      if (name === "test") loadOrders();
    }

    const commands = {
      undo: () => travel(history.past, history.future),
      redo: () => travel(history.future, history.past),
      save, publish, unpublish,
      fit: () => canvas.fit(),
      "zoom-in": () => df.zoom_in(),
      "zoom-out": () => df.zoom_out(),
      import: () => $("#import-file").click(),
      export: async () => { if (!readonly && dirty() && !(await save())) return; window.location.href = urls.export; },
      reload: reloadFromServer,
      "download-mine": () => download("flow-" + boot.flow.id + "-mine.json", JSON.stringify(composeFlow(), null, 2)),
    };
    root.addEventListener("click", (e) => {
      const btn = e.target.closest("[data-cmd]");
      if (btn && commands[btn.dataset.cmd]) commands[btn.dataset.cmd]();
      const tab = e.target.closest(".side-tabs [data-tab]");
      if (tab) showTab(tab.dataset.tab);
    });
    $("#import-file").addEventListener("change", (e) => { const f = e.target.files[0]; e.target.value = ""; if (f) importFile(f); });
    const metaChanged = debounce(commit, 400);
    nameInput.addEventListener("input", metaChanged);
    descInput.addEventListener("input", metaChanged);

    document.addEventListener("keydown", (e) => {
      const mod = e.ctrlKey || e.metaKey, key = e.key.toLowerCase();
      if (mod && key === "s") { e.preventDefault(); save(); return; }
      if (e.target.closest("input, textarea, select, [contenteditable]")) return;
      if (mod && key === "z" && !e.shiftKey) { e.preventDefault(); commands.undo(); }
      else if (mod && (key === "y" || (key === "z" && e.shiftKey))) { e.preventDefault(); commands.redo(); }
      else if ((e.key === "Delete" || e.key === "Backspace") && !readonly) { if (canvas.removeSelection()) { e.preventDefault(); commit(); } }
      else if (e.key === "Escape") canvas.unselect();
    });
    window.addEventListener("beforeunload", (e) => { if (!readonly && dirty()) { e.preventDefault(); e.returnValue = ""; } });

    if (readonly) {
      // drawflow selects nothing in view mode; a viewer may still read a node's settings
      $("#canvas").addEventListener("click", (e) => {
        const el = e.target.closest(".drawflow-node");
        if (!el) return;
        $$(".drawflow-node.selected", $("#canvas")).forEach((n) => n.classList.remove("selected"));
        el.classList.add("selected");
        openSettings(el.dataset.nodeId);
      });
    }

    // drawflow's own events: selection, moves and wires drawn by the user
    df.on("nodeSelected", (dfId) => openSettings(canvas.idOf(dfId)));
    df.on("nodeUnselected", () => closeSettings());
    df.on("nodeMoved", commitSoon);
    df.on("connectionCreated", () => { if (!canvas.isQuiet()) commitSoon(); });
    df.on("connectionRemoved", () => { if (!canvas.isQuiet()) commitSoon(); });
    df.on("nodeRemoved", () => { if (!canvas.isQuiet()) { canvas.reindex(); commitSoon(); } });

    // ---------------------------------------------------------------- boot
    state.problems = boot.flow.problems || [];
    loadFlow(boot.flow.draft, boot.ports);
    canvas.fit();
    resetHistory();
    showProblems(state.problems);
    showSaveState();
    updatePublishState();
    initPalette();
    window.orderflowEditor = { ready: true, readyAt: performance.now(), bootMs: performance.now() - bootStart,
      canvas, composeFlow, save, state };
    document.body.dataset.editorReady = "1";
  }

  // ------------------------------------------------------------------ read-only canvas (runs, versions)
  function startViewer(el) {
    const boot = JSON.parse($("#view-data").textContent);
    const canvas = createCanvas(el, boot.node_types, true);
    canvas.render(boot.definition, boot.ports);
    canvas.fit();
    const paint = () => {
      const source = $("#run-path");
      if (source) { const run = JSON.parse(source.textContent); canvas.highlight(run.path, run.steps); }
    };
    paint();
    document.body.addEventListener("htmx:afterSwap", paint);
    el.addEventListener("click", (e) => {
      const node = e.target.closest(".drawflow-node");
      const step = node && document.querySelector('.steps [data-node-id="' + CSS.escape(node.dataset.nodeId) + '"]');
      if (step) { step.scrollIntoView({ block: "center", behavior: "smooth" }); step.classList.add("flash-step"); setTimeout(() => step.classList.remove("flash-step"), 1500); }
    });
    window.orderflowViewer = { ready: true, canvas };
    document.body.dataset.viewerReady = "1";
  }

  function boot() {
    const editor = $("#editor"), viewer = $("#view-canvas");
    if (editor) startEditor(editor);
    if (viewer) startViewer(viewer);
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot);
  else boot();
})();
