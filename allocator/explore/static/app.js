// The explorer's page. It shows what the server computes and computes no allocation itself:
// every weight vector, post, λ and waterfall part comes from the library through the API.
'use strict';

(() => {
  const TEXT = {
    zh: {
      title: '权重探索',
      weights: '指标权重（最终份额）',
      weights_hint: '拖动滑块或输入份额（0–1）：其余未锁定的权重按原有比例缩放，合计始终为1。',
      lock: '锁定',
      reset: '恢复模型权重',
      settings: '总量与方法',
      cap: '编制总量',
      cap_hint: '可分配 = 编制总量 − 周转池（{reserve}）',
      rounding: '取整方法',
      bounds: '约束条件（勾选为启用）',
      save: '保存方案',
      save_hint: '写入模型文件及完整报告文件夹（与 allocator report 相同），并核验。',
      saving: '正在保存并核验…',
      saved: '已保存',
      model_file: '模型文件',
      folder: '报告文件夹',
      files: '{n}个文件',
      reproduce: '重现命令：',
      check: '核验命令：',
      verified: '核验通过：结果与模型文件及数据一致',
      not_verified: '核验未通过',
      bands: '计算蒙特卡洛区间',
      bands_busy: '正在计算蒙特卡洛区间…',
      bands_info: '{n}个权重样本（狄利克雷分布，集中度{k}，随机种子{seed}），围绕当前权重。',
      bands_stale: '区间按此前的设置计算；点击按钮重新计算。',
      verdicts: '现有编制数高于配置数（≥95%样本）：{over}个；低于：{under}个；取决于权重：{depends}个。',
      lambda: '统一比例λ（未受约束单位的配置数/测算数）：',
      computing: '计算中…',
      updated: '{n}个单位 · 更新用时{ms}毫秒',
      units: '{n}个单位',
      explain_hint: '点击表中单位，查看其从零基测算数到优化配置数的构成（瀑布图）。',
      close: '关闭',
      held: '约束条件：',
      not_held: '未受约束：配置数 = λ × 测算数（取整前）',
      note: '注：',
      band: '5%–95%区间',
      median: '中位数',
      at_weights: '当前权重下',
      current: '现有编制数',
      posts: '编制数',
      locked_all: '其余权重均已锁定，无法调整此项。',
      failed: '请求失败：',
    },
    en: {
      title: 'Weight explorer',
      weights: 'Indicator weights (final shares)',
      weights_hint: 'Drag a slider or type a share (0 to 1): the other unlocked weights are scaled in proportion, so that they always add up to 1.',
      lock: 'lock',
      reset: "Reset to the model's weights",
      settings: 'Cap and method',
      cap: 'Cap (posts)',
      cap_hint: 'Allocatable = cap − reserve pool ({reserve})',
      rounding: 'Rounding',
      bounds: 'Bounds (ticked = on)',
      save: 'Save scenario',
      save_hint: 'Writes a model file and its full report folder (as allocator report does), then verifies it.',
      saving: 'Saving and verifying…',
      saved: 'Saved',
      model_file: 'Model file',
      folder: 'Report folder',
      files: '{n} files',
      reproduce: 'Reproduce:',
      check: 'Check:',
      verified: 'Verified: the result matches its model file and data',
      not_verified: 'Verification FAILED',
      bands: 'Monte Carlo bands',
      bands_busy: 'Computing the Monte Carlo bands…',
      bands_info: '{n} weight samples (Dirichlet, concentration {k}, seed {seed}) around the current weights.',
      bands_stale: 'The bands are for earlier settings; click the button to recompute.',
      verdicts: 'Current posts above the allocation in ≥95% of samples: {over} units; below: {under}; depends on the weights: {depends}.',
      lambda: 'Common ratio λ (allocation/target of the units no bound holds): ',
      computing: 'computing…',
      updated: '{n} units · updated in {ms} ms',
      units: '{n} units',
      explain_hint: 'Click a unit in the table for its waterfall: from zero-based target to allocation.',
      close: 'Close',
      held: 'Held by: ',
      not_held: 'No bound holds it: allocation = λ × target (before rounding)',
      note: 'Note: ',
      band: '5%–95% band',
      median: 'median',
      at_weights: 'at these weights',
      current: 'Current posts',
      posts: 'Posts',
      locked_all: 'Every other weight is locked: this one cannot change.',
      failed: 'Request failed: ',
    },
  };
  const ROUNDING = {
    zh: { hamilton: '最大余数法（Hamilton）', webster: '韦伯斯特法（Webster / Sainte-Laguë）',
          dhondt: '顿特法（D\u2019Hondt）', 'huntington-hill': '亨廷顿-希尔法（Huntington-Hill）' },
    en: { hamilton: 'Largest remainder (Hamilton)', webster: 'Webster (Sainte-Laguë)',
          dhondt: "D'Hondt (Jefferson)", 'huntington-hill': 'Huntington-Hill' },
  };
  const BLUE = '#2f5597', GREY = '#a6a6a6', GREEN = '#548235', RED = '#c00000', LIGHT = '#8faadc';
  const DEBOUNCE_MS = 40;

  const state = {
    lang: 'zh', model: null, settings: null, view: null, previous: null, locks: new Set(),
    seq: 0, done: 0, selected: null, explanation: null, bands: null, bandsFor: null,
    saved: null, dragging: null, timer: null, charts: {}, timings: [], splits: [], message: null, status: null,
    inflight: false, pending: null,
  };
  window.explore = state;  // for tests and the benchmark: the page's state, read only

  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s).replace(/[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c]));
  const t = (key, values = {}) => TEXT[state.lang][key].replace(/\{(\w+)\}/g, (_, k) => values[k]);
  const tr = (v) => (v == null ? '' : typeof v === 'object' ? v[state.lang] : String(v));
  const number = (v, digits = 0) => Number(v).toLocaleString('en-US',
    { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const share = (v) => Number(v).toFixed(4);

  function fmt(value, kind, digits) {
    // The report's display of an already rounded value (allocator.report.model.display).
    if (value == null) return '';
    if (kind === 'text') return tr(value);
    if (kind === 'int') return number(value, 0);
    return number(value, digits) + (kind === 'pct' ? '%' : '');
  }

  class ApiError extends Error {}

  async function call(path, body) {
    const options = body === undefined ? { credentials: 'same-origin' } : {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body),
    };
    let response;
    try {
      response = await fetch(path, options);
    } catch (err) {
      throw new ApiError(t('failed') + err.message);
    }
    let data = null;
    try { data = await response.json(); } catch (err) { data = null; }
    if (!response.ok) throw new ApiError((data && data.error) || `HTTP ${response.status}`);
    return data;
  }

  // ---- messages and status -------------------------------------------------------------

  function showMessage(text, field) {
    state.message = text;
    const box = $('message');
    box.textContent = text;
    box.hidden = false;
    document.querySelectorAll('.invalid').forEach((el) => el.classList.remove('invalid'));
    if (field) field.classList.add('invalid');
  }

  function clearMessage() {
    state.message = null;
    $('message').hidden = true;
    document.querySelectorAll('.invalid').forEach((el) => el.classList.remove('invalid'));
  }

  function status(key, values, busy) {
    state.status = [key, values, busy];
    $('status').textContent = key ? t(key, values) : '';
    $('status').classList.toggle('busy', !!busy);
  }

  // ---- controls --------------------------------------------------------------------------

  function buildControls() {
    const box = $('weights');
    box.innerHTML = state.model.indicators.map((ind) => `
      <div class="weight" data-key="${esc(ind.key)}">
        <div class="weight-head">
          <label class="lock"><input type="checkbox" class="lock-box"><span class="lock-text"></span></label>
          <span class="wname"></span>
          <input type="text" class="wbox" inputmode="decimal" autocomplete="off">
        </div>
        <input type="range" class="wslider" min="0" max="1" step="0.0001">
      </div>`).join('');
    box.querySelectorAll('.weight').forEach((row) => {
      const key = row.dataset.key;
      const slider = row.querySelector('.wslider');
      const text = row.querySelector('.wbox');
      slider.addEventListener('pointerdown', () => { state.dragging = key; });
      slider.addEventListener('pointerup', () => { state.dragging = null; });
      slider.addEventListener('input', () => {
        text.value = share(slider.value);
        const started = performance.now();
        clearTimeout(state.timer);
        state.timer = setTimeout(() => step({}, { name: key, value: Number(slider.value) },
          slider, started), DEBOUNCE_MS);
      });
      text.addEventListener('change', () => step({}, { name: key, value: text.value }, text,
        performance.now()));
      row.querySelector('.lock-box').addEventListener('change', (event) => {
        if (event.target.checked) state.locks.add(key); else state.locks.delete(key);
        renderControls();
      });
    });
    $('rounding').innerHTML = state.model.roundings.map(
      (r) => `<option value="${esc(r)}"></option>`).join('');
    $('bound-list').innerHTML = state.model.bounds.map((b) => `
      <label><input type="checkbox" data-key="${esc(b.key)}"> <span class="bname"></span>
      <span class="bvalue">${esc(b.value)}</span></label>`).join('');
    $('bound-list').querySelectorAll('input').forEach((input) => {
      input.addEventListener('change', () => {
        const bounds = { ...state.settings.bounds, [input.dataset.key]: input.checked };
        step({ bounds }, null, input, performance.now());
      });
    });
    $('cap').addEventListener('change', () => step({ cap: $('cap').value }, null, $('cap'),
      performance.now()));
    $('rounding').addEventListener('change', () => step({ rounding: $('rounding').value }, null,
      $('rounding'), performance.now()));
    $('reset').addEventListener('click', () => step({ weights: state.model.settings.weights },
      null, null, performance.now()));
  }

  function renderControls() {
    const s = state.settings;
    const free = state.model.indicators.filter((ind) => !state.locks.has(ind.key)).length;
    document.querySelectorAll('#weights .weight').forEach((row) => {
      const key = row.dataset.key;
      const ind = state.model.indicators.find((i) => i.key === key);
      const locked = state.locks.has(key);
      row.classList.toggle('locked', locked);
      row.querySelector('.wname').textContent = tr(ind.name);
      row.querySelector('.wname').title = `${ind.column} (${ind.transform})`;
      row.querySelector('.lock-text').textContent = t('lock');
      row.querySelector('.lock-box').checked = locked;
      const slider = row.querySelector('.wslider');
      const text = row.querySelector('.wbox');
      slider.disabled = text.disabled = locked || free < 2;
      slider.title = free < 2 && !locked ? t('locked_all') : '';
      if (state.dragging !== key) slider.value = s.weights[key];
      if (document.activeElement !== text || !text.classList.contains('invalid')) {
        text.value = share(s.weights[key]);
      }
    });
    const cap = $('cap');
    if (!cap.classList.contains('invalid')) cap.value = s.cap;
    $('cap-hint').textContent = t('cap_hint', { reserve: number(state.model.reserve) });
    const rounding = $('rounding');
    rounding.querySelectorAll('option').forEach((o) => { o.textContent = ROUNDING[state.lang][o.value] || o.value; });
    rounding.value = s.rounding;
    $('bound-list').querySelectorAll('label').forEach((label) => {
      const input = label.querySelector('input');
      const bound = state.model.bounds.find((b) => b.key === input.dataset.key);
      label.querySelector('.bname').textContent = tr(bound.name);
      input.checked = s.bounds[input.dataset.key] !== false;
    });
  }

  // ---- one step: the server rebalances, allocates and describes -------------------------

  function step(changes, move, field, started) {
    // One request at a time: a change made while one is on its way waits for it, and only the
    // latest such change is sent (built on the settings the server has just returned).
    if (state.inflight) { state.pending = [changes, move, field, started]; return; }
    state.inflight = true;
    const seq = ++state.seq;
    const body = { settings: { ...state.settings, ...changes }, locks: [...state.locks], move };
    status('computing', {}, true);
    const sent = performance.now();
    call('/api/step', body).then((view) => {
      if (seq !== state.seq) return;  // a newer request is on its way
      const received = performance.now();
      state.previous = state.view;
      state.view = view;
      state.settings = view.settings;
      clearMessage();
      renderControls();
      renderResults();
      const drawn = performance.now();
      // The table is on the screen once the next frame has been drawn; the charts follow.
      requestAnimationFrame(() => setTimeout(() => {
        const painted = performance.now();
        const ms = Math.round(painted - started);
        state.timings.push(ms);
        status('updated', { n: number(state.model.units), ms }, false);
        renderCharts();
        state.splits.push({ wait: Math.round(sent - started), request: Math.round(received - sent),
                            draw: Math.round(drawn - received), paint: Math.round(painted - drawn),
                            charts: Math.round(performance.now() - painted) });
        state.done += 1;
      }, 0));
      if (state.selected) explainUnit(state.selected, false);
    }).catch((err) => {
      if (seq !== state.seq) return;
      state.done += 1;
      status('units', { n: number(state.model.units) }, false);
      showMessage(err.message, field);
      if (field && field.classList.contains('wslider')) renderControls();
    }).finally(() => {
      state.inflight = false;
      if (state.pending) {
        const next = state.pending;
        state.pending = null;
        step(...next);
      }
    });
  }

  // ---- the results -------------------------------------------------------------------------

  function render() {
    renderTexts();
    renderControls();
    renderResults();
    renderCharts();
  }

  function renderTexts() {
    document.documentElement.lang = state.lang;
    document.querySelectorAll('[data-t]').forEach((el) => { el.textContent = t(el.dataset.t); });
    document.querySelectorAll('.lang button').forEach((b) => b.classList.toggle('active', b.dataset.lang === state.lang));
    $('model-name').textContent = tr(state.model.name);
    if (state.status) status(...state.status);
    document.title = `${t('title')} · ${tr(state.model.name)}`;
  }

  function renderResults() {
    const view = state.view;
    const caveat = $('caveat');
    caveat.hidden = !view.notes.length;
    caveat.textContent = view.notes.map((n) => t('note') + tr(n)).join(' ');
    $('lambdas').innerHTML = esc(t('lambda')) + view.lambdas.map((l) =>
      `<span class="lam" data-pool="${esc(l.pool == null ? '*' : l.pool)}">${esc(tr(l.name))} <b>${l.value == null ? '–' : Number(l.value).toFixed(4)}</b></span>`).join('');
    renderTable();
    renderSaved();
  }

  const VIRTUAL_FROM = 400;  // longer tables draw only the rows in view (and some around)

  function renderTable() {
    const table = state.view.table;
    const before = new Map((state.previous ? state.previous.units : []).map((u) => [u.id, u.posts]));
    const idAt = table.columns.findIndex((c) => c.key === 'id');
    state.rows = table.rows.map((row) => {
      const id = row.level === 'unit' ? String(row.cells[idAt]) : null;
      return { row, id, was: id != null ? before.get(id) : undefined };
    });
    state.posts = new Map(state.view.units.map((u) => [u.id, u.posts]));
    $('table').innerHTML = '<thead><tr>' + table.columns.map((c) =>
      `<th class="${c.kind === 'text' ? 'text' : ''} col-${esc(c.key)}">${esc(tr(c.name))}</th>`).join('')
      + '</tr></thead><tbody></tbody>';
    paintRows();
    $('table-notes').textContent = table.notes.map(tr).join(' ');
  }

  function rowHtml(entry) {
    const { row, id, was } = entry;
    const columns = state.view.table.columns;
    const now = id != null ? state.posts.get(id) : undefined;
    const changed = was !== undefined && now !== was;
    const classes = `${row.level}${changed ? ' changed' : ''}${id != null && id === state.selected ? ' selected' : ''}`;
    const cells = row.cells.map((value, j) => {
      const column = columns[j];
      let text = esc(fmt(value, column.kind, column.digits));
      if (changed && column.key === 'allocation') {
        const delta = now - was;
        text += ` <span class="delta ${delta > 0 ? 'up' : 'down'}">${delta > 0 ? '▲' : '▼'}${number(Math.abs(delta))}</span>`;
      }
      return `<td class="${column.kind === 'text' ? 'text' : ''} col-${esc(column.key)}">${text}</td>`;
    }).join('');
    return `<tr class="${classes}"${id != null ? ` data-id="${esc(id)}"` : ''}>${cells}</tr>`;
  }

  function paintRows() {
    const rows = state.rows;
    const body = $('table').tBodies[0];
    if (!rows || !body) return;
    if (rows.length <= VIRTUAL_FROM) {
      body.innerHTML = rows.map(rowHtml).join('');
      return;
    }
    const wrap = $('table-wrap');
    const height = state.rowHeight || 25;
    const first = Math.max(0, Math.floor(wrap.scrollTop / height) - 30);
    const last = Math.min(rows.length, first + Math.ceil(wrap.clientHeight / height) + 60);
    const span = state.view.table.columns.length;
    const spacer = (h) => (h > 0 ? `<tr class="spacer" style="height:${h}px"><td colspan="${span}"></td></tr>` : '');
    body.innerHTML = spacer(first * height) + rows.slice(first, last).map(rowHtml).join('')
      + spacer((rows.length - last) * height);
    const sample = body.querySelector('tr.unit');
    if (sample && !state.rowHeight) {
      state.rowHeight = sample.getBoundingClientRect().height;
      paintRows();
    }
  }

  // ---- charts (ECharts, vendored) ------------------------------------------------------------

  function chart(id, height) {
    const el = $(id);
    const size = `${height}px`;
    const resized = el.style.height !== size;
    el.style.height = size;
    let c = state.charts[id];
    if (!c) {
      c = state.charts[id] = echarts.init(el, null, { renderer: 'canvas' });
    } else if (resized) {
      c.resize();
    }
    return c;
  }

  function unitName(name, id) {
    return `${id} ${tr(name)}`;
  }

  function barOption(data, axisName, digits) {
    const colours = data.series.length > 1 ? [GREY, BLUE] : [BLUE];
    return {
      animation: false,
      title: { text: tr(data.title), left: 'center', textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
                 valueFormatter: (v) => (v == null ? '' : number(v, digits)) },
      legend: { bottom: 0 },
      grid: { left: 8, right: 28, top: 36, bottom: 56, containLabel: true },
      xAxis: { type: 'value', name: axisName, nameLocation: 'middle', nameGap: 24,
               axisLabel: { formatter: (v) => number(v) } },
      yAxis: { type: 'category', data: data.names.map((n, k) => unitName(n, data.ids[k])),
               axisLabel: { fontSize: 11 } },
      series: data.series.map((s, k) => ({ type: 'bar', name: tr(s.name), data: s.values,
        itemStyle: { color: colours[k] }, barGap: '10%' })),
    };
  }

  function renderCharts() {
    renderUnitCharts();
    renderExplanation();
    renderBands();
  }

  function renderUnitCharts() {
    const charts = state.view.charts;
    const alloc = charts.allocation;
    chart('chart-allocation', 110 + 26 * alloc.ids.length).setOption(barOption(alloc, t('posts'), 0), true);
    const per10k = $('chart-per10k');
    if (charts.per10k) {
      per10k.hidden = false;
      chart('chart-per10k', 110 + 26 * charts.per10k.ids.length)
        .setOption(barOption(charts.per10k, tr(charts.per10k.title), 1), true);
    } else {
      per10k.hidden = true;
    }
  }

  // ---- a unit's explanation ------------------------------------------------------------------

  function explainUnit(id, scroll) {
    state.selected = id;
    document.querySelectorAll('#table tr.selected').forEach((r) => r.classList.remove('selected'));
    const row = document.querySelector(`#table tr[data-id="${CSS.escape(id)}"]`);
    if (row) row.classList.add('selected');
    const settings = state.settings;
    call('/api/explain', { settings, unit: id }).then((explanation) => {
      if (state.settings !== settings || state.selected !== id) return;
      state.explanation = explanation;
      renderExplanation();
      if (scroll) $('explain-panel').scrollIntoView({ block: 'nearest' });
    }).catch((err) => showMessage(err.message));
  }

  function renderExplanation() {
    const panel = $('explain-panel');
    const e = state.explanation;
    if (!e || !state.selected) { panel.hidden = true; return; }
    panel.hidden = false;
    $('explain-title').textContent = tr(e.title);
    $('explain-binding').textContent = e.binding ? t('held') + tr(e.binding) : t('not_held');
    $('explain-notes').textContent = e.notes.map(tr).join(' ');
    // Bars of a waterfall: each part floats on the running total of the parts before it.
    const base = [], bar = [], labels = [];
    let level = 0;
    for (const part of e.parts) {
      if (part.kind === 'total') {
        base.push(0);
        bar.push({ value: part.value, itemStyle: { color: BLUE } });
        level = part.value;
        labels.push(number(part.value, part.key === 'target' ? 1 : 0));
      } else {
        const low = Math.min(level, level + part.value);
        base.push(low);
        const colour = part.key.startsWith('step:') ? (part.value >= 0 ? GREEN : RED) : LIGHT;
        bar.push({ value: Math.abs(part.value), itemStyle: { color: colour } });
        level += part.value;
        labels.push((part.value > 0 ? '+' : '') + number(part.value, 1));
      }
    }
    const option = {
      animation: false,
      grid: { left: 8, right: 24, top: 24, bottom: 8, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' },
                 formatter: (items) => { const k = items[0].dataIndex; return `${esc(tr(e.parts[k].name))}: ${esc(labels[k])}`; } },
      xAxis: { type: 'category', data: e.parts.map((p) => tr(p.name)),
               axisLabel: { interval: 0, rotate: 30, fontSize: 11 } },
      yAxis: { type: 'value', axisLabel: { formatter: (v) => number(v) } },
      series: [
        // Invisible points at the current posts, so that the axis reaches the dashed line.
        { type: 'scatter', data: e.parts.map(() => e.actual), symbolSize: 0, silent: true,
          tooltip: { show: false } },
        { type: 'bar', stack: 'w', data: base, itemStyle: { color: 'transparent' }, silent: true },
        { type: 'bar', stack: 'w', data: bar,
          label: { show: true, position: 'top', fontSize: 11, formatter: (p) => labels[p.dataIndex] },
          markLine: e.actual == null ? undefined : {
            symbol: 'none', lineStyle: { color: GREY, type: 'dashed' },
            label: { formatter: `${t('current')} ${number(e.actual)}`, position: 'insideEndTop' },
            data: [{ yAxis: e.actual }] } },
      ],
    };
    chart('waterfall', 330).setOption(option, true);
  }

  // ---- Monte Carlo bands ---------------------------------------------------------------------

  function requestBands() {
    const settings = state.settings;
    $('bands-button').disabled = true;
    $('bands-info').textContent = t('bands_busy');
    call('/api/bands', { settings }).then((bands) => {
      state.bands = bands;
      state.bandsFor = JSON.stringify(settings);
      renderBands();
    }).catch((err) => { showMessage(err.message); renderBands(); })
      .finally(() => { $('bands-button').disabled = false; });
  }

  function renderBands() {
    const b = state.bands;
    const el = $('chart-bands');
    if (!b) { el.hidden = true; if (!$('bands-button').disabled) $('bands-info').textContent = ''; return; }
    el.hidden = false;
    const stale = state.bandsFor !== JSON.stringify(state.settings);
    const v = b.verdicts || {};
    $('bands-info').textContent = t('bands_info', { n: number(b.samples), k: b.concentration, seed: b.seed })
      + (Object.keys(v).length ? ' ' + t('verdicts', { over: v.over || 0, under: v.under || 0, depends: v.depends || 0 }) : '')
      + (stale ? ' ' + t('bands_stale') : '');
    const units = b.units;
    const option = {
      animation: false,
      title: { text: tr(b.title), left: 'center', textStyle: { fontSize: 13 } },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, formatter: (items) => {
        const u = units[items[0].dataIndex];
        return `${esc(unitName(u.name, u.id))}<br>${esc(t('band'))}: ${number(u.p5)}–${number(u.p95)}`
          + `<br>${esc(t('median'))}: ${number(u.p50)}<br>${esc(t('at_weights'))}: ${number(u.base)}`
          + (u.actual == null ? '' : `<br>${esc(t('current'))}: ${number(u.actual)}`);
      } },
      legend: { bottom: 0, data: [t('band'), t('at_weights'), ...(units.some((u) => u.actual != null) ? [t('current')] : [])] },
      grid: { left: 8, right: 28, top: 36, bottom: 40, containLabel: true },
      xAxis: { type: 'value', scale: true, axisLabel: { formatter: (v) => number(v) } },
      yAxis: { type: 'category', data: units.map((u) => unitName(u.name, u.id)), axisLabel: { fontSize: 11 } },
      series: [
        { type: 'bar', stack: 'band', data: units.map((u) => u.p5), itemStyle: { color: 'transparent' }, silent: true },
        { type: 'bar', stack: 'band', name: t('band'), data: units.map((u) => Math.max(u.p95 - u.p5, 0)),
          itemStyle: { color: LIGHT }, barWidth: '55%' },
        { type: 'scatter', name: t('at_weights'), data: units.map((u) => u.base), symbol: 'diamond',
          symbolSize: 10, itemStyle: { color: BLUE } },
        { type: 'scatter', name: t('current'), data: units.map((u) => u.actual), symbol: 'circle',
          symbolSize: 7, itemStyle: { color: GREY } },
      ],
    };
    chart('chart-bands', 110 + 24 * units.length).setOption(option, true);
  }

  // ---- save scenario -------------------------------------------------------------------------

  function save() {
    const button = $('save');
    button.disabled = true;
    const box = $('saved');
    box.hidden = false;
    box.textContent = t('saving');
    state.saved = null;
    call('/api/save', { settings: state.settings, lang: state.lang }).then((saved) => {
      state.saved = saved;
      renderSaved();
    }).catch((err) => { box.hidden = true; showMessage(err.message); })
      .finally(() => { button.disabled = false; });
  }

  function renderSaved() {
    const s = state.saved;
    const box = $('saved');
    if (!s) return;
    box.hidden = false;
    box.innerHTML = `<b>${esc(t('saved'))}</b><br>${esc(t('model_file'))}: <code>${esc(s.model_file)}</code>`
      + `${esc(t('folder'))} (${esc(t('files', { n: s.files.length }))}): <code>${esc(s.folder)}</code>`
      + `<b class="verdict">${esc(s.verified ? '✓ ' + t('verified') : '✗ ' + t('not_verified'))}</b><br>`
      + `${esc(t('reproduce'))}<code class="cmd" id="saved-command">${esc(s.command)}</code>`
      + `${esc(t('check'))}<code class="cmd">${esc(s.verify_command)}</code>`;
  }

  // ---- start -----------------------------------------------------------------------------------

  function setLanguage(lang) {
    state.lang = lang;
    try { localStorage.setItem('allocator-explore-lang', lang); } catch (err) { /* private mode */ }
    if (state.view) render();
  }

  async function start() {
    try {
      const stored = localStorage.getItem('allocator-explore-lang');
      if (stored === 'zh' || stored === 'en') state.lang = stored;
    } catch (err) { /* private mode */ }
    document.querySelectorAll('.lang button').forEach((b) => b.addEventListener('click', () => setLanguage(b.dataset.lang)));
    $('table-wrap').addEventListener('scroll', () => {
      if (state.rows && state.rows.length > VIRTUAL_FROM) requestAnimationFrame(paintRows);
    });
    $('table').addEventListener('click', (event) => {
      const row = event.target.closest('tr.unit');
      if (row) explainUnit(row.dataset.id, true);
    });
    $('explain-close').addEventListener('click', () => { state.selected = null; state.explanation = null; paintRows(); renderExplanation(); });
    $('bands-button').addEventListener('click', requestBands);
    $('save').addEventListener('click', save);
    window.addEventListener('resize', () => Object.values(state.charts).forEach((c) => c.resize()));
    status('computing', {}, true);
    try {
      const model = await call('/api/start');
      state.model = model;
      state.settings = model.settings;
      state.view = model.view;
      buildControls();
      render();
      state.done = 0;
      status('units', { n: number(model.units) }, false);
      document.body.dataset.ready = 'true';
    } catch (err) {
      status(null, {}, false);
      showMessage(err.message);
    }
  }

  document.addEventListener('DOMContentLoaded', start);
})();
