// The charts of the paths and funnels views, loaded on demand: ECharts'
// Sankey and bar charts on the instance helper of the timeseries chart.
import { BarChart, SankeyChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { BLUE, BORDER, FONT, GREY, TEXT, instance } from './chart';
import { h } from './dom';
import { formatCompact, formatNumber } from './format';

echarts.use([SankeyChart, BarChart, GridComponent, LegendComponent, TooltipComponent, SVGRenderer]);

const DARK_BLUE = '#003078';
const PURPLE = '#4c2c92';
const MUTED = '#b1b4b6';
const LABEL_SIZE = 14;
const LINE_HEIGHT = 17;

const TOOLTIP = {
  backgroundColor: '#ffffff',
  borderColor: TEXT,
  borderWidth: 1,
  padding: [8, 12],
  textStyle: { color: TEXT, fontFamily: FONT, fontSize: 16 },
  confine: true,
};

// --- fitting labels ------------------------------------------------------------

let measurer: CanvasRenderingContext2D | null = null;
function textWidth(text: string, weight = 'normal'): number {
  measurer ??= document.createElement('canvas').getContext('2d');
  if (!measurer) return text.length * LABEL_SIZE * 0.55;
  measurer.font = `${weight} ${LABEL_SIZE}px ${FONT}`;
  return measurer.measureText(text).width;
}

/**
 * `prefix` + `path`, shortened to `max` pixels: the end of a path tells pages
 * apart best, so leading segments go first (…/how-to-claim), then the end.
 */
export function fitLabel(path: string, max: number, prefix = '', weight = 'normal'): string {
  const fits = (t: string) => textWidth(prefix + t, weight) <= max;
  if (fits(path)) return prefix + path;
  const parts = path.split('/');
  for (let i = 2; i < parts.length; i++) {
    const t = `…/${parts.slice(i).join('/')}`;
    if (fits(t)) return prefix + t;
  }
  let t = path;
  while (t.length > 1 && !fits(`${t}…`)) t = t.slice(0, -1);
  return `${prefix}${t}…`;
}

/**
 * A label on at most two lines of `max` pixels: the host on the first line
 * for another site's page, else the path broken after a - or before a /.
 */
export function wrapLabel(path: string, max: number, prefix = '', weight = 'normal'): string {
  const fits = (t: string) => textWidth(t, weight) <= max;
  if (fits(prefix + path)) return prefix + path;
  if (prefix) return `${fitLabel(prefix.trim(), max, '', weight)}\n${fitLabel(path, max, '', weight)}`;
  let cut = -1;
  for (let i = 1; i < path.length; i++) {
    if ((path[i] === '/' || path[i - 1] === '-') && fits(path.slice(0, i))) cut = i;
  }
  if (cut <= 0) return fitLabel(path, max, '', weight);
  return `${path.slice(0, cut)}\n${fitLabel(path.slice(cut), max, '', weight)}`;
}

// --- Sankey -----------------------------------------------------------------------

export type NodeStyle = 'centre' | 'page' | 'elsewhere' | 'muted';

export interface SankeyNode {
  id: string;
  /** The column, from 0. */
  column: number;
  /** Host shown before the path for pages on another site ('' otherwise). */
  prefix: string;
  text: string;
  style: NodeStyle;
  visits: number;
  /** Whether selecting the node explores paths through it. */
  selectable: boolean;
}

export interface SankeyLink {
  source: string;
  target: string;
  visits: number;
  visitors: number;
}

const NODE_COLOURS: Record<NodeStyle, string> = { centre: DARK_BLUE, page: BLUE, elsewhere: PURPLE, muted: MUTED };

export function drawSankey(el: HTMLElement, nodes: SankeyNode[], links: SankeyLink[], onSelect: (id: string) => void): void {
  const chart = instance(el);
  const byId = new Map(nodes.map((n) => [n.id, n]));
  const columns = Math.max(1, ...nodes.map((n) => n.column + 1));
  const width = el.clientWidth || 900;
  const nodeWidth = 14;
  const side = 8;
  // Every label sits to the right of its node, in the space before the next
  // column; the last column's labels have a margin of the same width.
  const gap = (width - 2 * side) / columns;
  const labelMax = Math.max(60, gap - nodeWidth - 14);
  const outSum = new Map<string, number>();
  const inSum = new Map<string, number>();
  for (const l of links) {
    outSum.set(l.source, (outSum.get(l.source) ?? 0) + l.visits);
    inSum.set(l.target, (inSum.get(l.target) ?? 0) + l.visits);
  }
  const fullText = (n: SankeyNode) => n.prefix + (n.prefix ? ' ' : '') + n.text;

  const texts = nodes.map((n) =>
    wrapLabel(n.text, labelMax, n.prefix ? `${n.prefix} ` : '', n.style === 'centre' ? 'bold' : 'normal'),
  );

  chart.off('click');
  chart.on('click', (p) => {
    const node = p.dataType === 'node' ? byId.get((p.data as { name: string }).name) : undefined;
    if (node?.selectable) onSelect(node.id);
  });

  chart.setOption(
    {
      animationDuration: 300,
      textStyle: { fontFamily: FONT, color: TEXT },
      tooltip: {
        ...TOOLTIP,
        trigger: 'item',
        formatter: (params: unknown) => {
          const p = params as { dataType: string; data: { name?: string; source?: string; target?: string } };
          if (p.dataType === 'node') {
            const n = byId.get(p.data.name!)!;
            return h(
              'div',
              { class: 'gh-tooltip' },
              h('div', { class: 'gh-tooltip__title' }, fullText(n)),
              h('div', { class: 'gh-tooltip__row' }, h('span', { class: 'gh-tooltip__key' }, 'Visits'), h('strong', null, formatNumber(n.visits))),
              n.selectable && n.style !== 'centre' ? h('div', { class: 'gh-tooltip__hint' }, 'Select to explore paths through this page') : null,
            );
          }
          const link = links.find((l) => l.source === p.data.source && l.target === p.data.target)!;
          const from = byId.get(link.source)!;
          const to = byId.get(link.target)!;
          const share = (outSum.get(link.source) ?? 0) > 0 ? link.visits / outSum.get(link.source)! : 0;
          return h(
            'div',
            { class: 'gh-tooltip' },
            h('div', { class: 'gh-tooltip__title' }, fullText(from), ' → ', fullText(to)),
            h('div', { class: 'gh-tooltip__row' }, h('span', { class: 'gh-tooltip__key' }, 'Visits'), h('strong', null, formatNumber(link.visits))),
            link.visitors || (from.style !== 'muted' && to.style !== 'muted')
              ? h('div', { class: 'gh-tooltip__row' }, h('span', { class: 'gh-tooltip__key' }, 'Visitors'), h('strong', null, formatNumber(link.visitors)))
              : null,
            h(
              'div',
              { class: 'gh-tooltip__row gh-tooltip__row--previous' },
              h('span', { class: 'gh-tooltip__key' }, `Share of visits from ${fitLabel(fullText(from), 180)}`),
              h('strong', null, `${Math.round(share * 100)}%`),
            ),
          );
        },
      },
      series: [
        {
          type: 'sankey',
          // No opening animation: it clips the diagram while it runs.
          animation: false,
          left: side,
          right: side + gap - nodeWidth,
          top: 16,
          bottom: 24,
          nodeWidth,
          // Room between nodes for a label of two lines.
          nodeGap: 30,
          nodeAlign: 'justify',
          layoutIterations: 64,
          draggable: false,
          cursor: 'pointer',
          emphasis: { focus: 'adjacency' },
          data: nodes.map((n, i) => {
            const weight = n.style === 'centre' ? 'bold' : 'normal';
            return {
              name: n.id,
              depth: n.column,
              value: n.visits,
              itemStyle: { color: NODE_COLOURS[n.style], borderWidth: 0 },
              label: {
                position: 'right',
                distance: 6,
                color: n.style === 'muted' ? GREY : TEXT,
                fontStyle: n.style === 'muted' ? 'italic' : 'normal',
                fontWeight: weight,
                fontSize: LABEL_SIZE,
                fontFamily: FONT,
                // A white halo keeps the text readable over the links.
                textBorderColor: '#ffffff',
                textBorderWidth: 3,
                lineHeight: LINE_HEIGHT,
                formatter: () => texts[i],
              },
            };
          }),
          links: links.map((l) => {
            const muted = byId.get(l.source)?.style === 'muted' || byId.get(l.target)?.style === 'muted';
            return {
              source: l.source,
              target: l.target,
              value: Math.max(l.visits, 0),
              lineStyle: { color: muted ? MUTED : BLUE, opacity: muted ? 0.35 : 0.22, curveness: 0.5 },
              emphasis: { lineStyle: { opacity: 0.5 } },
            };
          }),
        },
      ],
    },
    { notMerge: true },
  );
  hideCrowdedLabels(chart, nodes, texts);
}

/**
 * Hides the labels that would overlap another: the labels of nodes with more
 * visits are kept first. Those nodes still have their tooltip, and the tables
 * below the diagram name every page.
 */
function hideCrowdedLabels(chart: echarts.EChartsType, nodes: SankeyNode[], texts: string[]): void {
  type Layout = { x: number; y: number; dx: number; dy: number };
  const model = (chart as unknown as { getModel(): { getSeriesByIndex(i: number): { getData(): { getItemLayout(i: number): Layout | null } } | null } }).getModel();
  const data = model.getSeriesByIndex(0)?.getData();
  if (!data) return;
  const height = chart.getHeight();
  const boxes = nodes.map((n, i) => {
    const l = data.getItemLayout(i);
    if (!l) return null;
    const lines = texts[i].split('\n');
    const h = lines.length * LINE_HEIGHT;
    const w = Math.max(...lines.map((t) => textWidth(t, n.style === 'centre' ? 'bold' : 'normal')));
    const y = l.y + l.dy / 2 - h / 2;
    return { x: l.x + l.dx + 6, y, w, h };
  });
  const order = nodes.map((_, i) => i).sort((a, b) => nodes[b].visits - nodes[a].visits);
  const kept: { x: number; y: number; w: number; h: number }[] = [];
  const hidden = new Set<number>();
  for (const i of order) {
    const b = boxes[i];
    if (!b) continue;
    const clash = b.y < 0 || b.y + b.h > height || kept.some((k) => b.x < k.x + k.w && k.x < b.x + b.w && b.y < k.y + k.h + 1 && k.y < b.y + b.h + 1);
    if (clash) hidden.add(i);
    else kept.push(b);
  }
  if (!hidden.size) return;
  const option = chart.getOption() as { series: { data: { label: Record<string, unknown> }[] }[] };
  const dataItems = option.series[0].data.map((d, i) => (hidden.has(i) ? { ...d, label: { ...d.label, show: false } } : d));
  chart.setOption({ series: [{ data: dataItems }] });
}

// --- funnel bars ----------------------------------------------------------------

export interface FunnelBars {
  labels: string[];
  /** Visits reaching each step (null: withheld). */
  current: (number | null)[];
  /** Conversion from the first step, in percent. */
  conversion: (number | null)[];
  previous: (number | null)[] | null;
  previousConversion: (number | null)[] | null;
  currentName: string;
  previousName: string;
}

export function drawFunnel(el: HTMLElement, f: FunnelBars): void {
  const chart = instance(el);
  // On a phone the steps are numbered only; the table below names them.
  const narrow = el.clientWidth < 500;
  const labelWidth = el.clientWidth < 700 ? 160 : 240;
  const pct = (v: number | null) => (v == null ? '' : ` (${Math.round(v * 10) / 10}%)`);
  const figure = (v: number | null, c: number | null) => (v == null ? 'withheld' : `${formatNumber(v)}${pct(c)}`);
  const series: unknown[] = [
    {
      type: 'bar',
      name: f.currentName,
      data: f.current,
      itemStyle: { color: BLUE },
      barMaxWidth: 28,
      barGap: '20%',
      label: {
        show: true,
        position: 'right',
        color: TEXT,
        fontSize: 14,
        fontFamily: FONT,
        formatter: (p: { dataIndex: number }) => figure(f.current[p.dataIndex], f.conversion[p.dataIndex]),
      },
      emphasis: { disabled: true },
    },
  ];
  if (f.previous) {
    series.push({
      type: 'bar',
      name: f.previousName,
      data: f.previous,
      itemStyle: { color: '#ffffff', borderColor: GREY, borderWidth: 2, borderType: 'dashed' },
      barMaxWidth: 28,
      label: {
        show: true,
        position: 'right',
        color: GREY,
        fontSize: 14,
        fontFamily: FONT,
        formatter: (p: { dataIndex: number }) => figure(f.previous![p.dataIndex], f.previousConversion![p.dataIndex]),
      },
      emphasis: { disabled: true },
    });
  }
  chart.setOption(
    {
      animationDuration: 300,
      textStyle: { fontFamily: FONT, color: TEXT },
      grid: { left: 8, right: 110, top: 8, bottom: 8, containLabel: true },
      tooltip: {
        ...TOOLTIP,
        trigger: 'axis',
        axisPointer: { type: 'shadow', shadowStyle: { color: 'rgba(11, 12, 12, 0.05)' } },
        formatter: (params: unknown) => {
          const list = (Array.isArray(params) ? params : [params]) as { dataIndex: number; seriesIndex: number }[];
          const i = list[0]?.dataIndex ?? 0;
          return h(
            'div',
            { class: 'gh-tooltip' },
            h('div', { class: 'gh-tooltip__title' }, f.labels[i]),
            h('div', { class: 'gh-tooltip__row' }, h('span', { class: 'gh-tooltip__key' }, 'Visits'), h('strong', null, figure(f.current[i], f.conversion[i]))),
            f.previous
              ? h(
                  'div',
                  { class: 'gh-tooltip__row gh-tooltip__row--previous' },
                  h('span', { class: 'gh-tooltip__key' }, 'Previous period'),
                  h('strong', null, figure(f.previous[i], f.previousConversion![i])),
                )
              : null,
          );
        },
      },
      xAxis: {
        type: 'value',
        minInterval: 1,
        splitNumber: 4,
        splitLine: { lineStyle: { color: '#e5e6e7' } },
        axisLabel: { color: GREY, fontSize: 14, hideOverlap: true, show: !narrow, formatter: (v: number) => formatCompact(v) },
      },
      yAxis: {
        type: 'category',
        inverse: true,
        data: f.labels,
        axisLine: { lineStyle: { color: BORDER } },
        axisTick: { show: false },
        axisLabel: {
          color: TEXT,
          fontSize: 14,
          margin: 12,
          formatter: (v: string) => {
            const m = /^(\d+\. )(.*)$/s.exec(v);
            if (narrow && m) return `Step ${m[1].replace('. ', '')}`;
            return m ? fitLabel(m[2], labelWidth, m[1]) : fitLabel(v, labelWidth);
          },
        },
      },
      series,
    },
    { notMerge: true },
  );
}
