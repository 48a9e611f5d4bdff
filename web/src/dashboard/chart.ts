// The timeseries chart, loaded on demand: ECharts with only the line chart,
// the grid, the tooltip and the SVG renderer.
import { LineChart } from 'echarts/charts';
import { GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import { h } from './dom';
import { formatBucket, formatMetric, formatMetricShort, parseApiDate } from './format';
import { METRIC_LABELS } from './state';
import type { Series } from './timeseries';

echarts.use([LineChart, GridComponent, MarkAreaComponent, MarkLineComponent, TooltipComponent, SVGRenderer]);

export const BLUE = '#1d70b8';
export const GREY = '#505a5f';
export const TEXT = '#0b0c0c';
export const BORDER = '#b1b4b6';
export const FONT = '"Helvetica Neue", Helvetica, Arial, sans-serif';

const charts = new WeakMap<HTMLElement, echarts.EChartsType>();

/** An ECharts instance for `el`, resized with it. */
export function instance(el: HTMLElement): echarts.EChartsType {
  let c = charts.get(el);
  if (!c) {
    c = echarts.init(el, null, { renderer: 'svg' });
    charts.set(el, c);
    const chart = c;
    // Not while hidden or detached (a tab switched away): ECharts' map
    // cannot lay out in an empty box.
    new ResizeObserver(() => {
      if (el.isConnected && el.clientWidth > 0 && el.clientHeight > 0) chart.resize();
    }).observe(el);
    // The chart is described by the element's aria-label and the data table.
    el.querySelector('svg')?.setAttribute('aria-hidden', 'true');
  }
  if (el.clientWidth > 0 && el.clientHeight > 0 && (c.getWidth() !== el.clientWidth || c.getHeight() !== el.clientHeight)) c.resize();
  return c;
}

interface AxisParam {
  dataIndex: number;
  seriesIndex: number;
}

export function drawTimeseries(el: HTMLElement, s: Series): void {
  const chart = instance(el);
  const narrow = el.clientWidth < 500;
  const tooltip = (params: unknown): HTMLElement => {
    const list = (Array.isArray(params) ? params : [params]) as AxisParam[];
    const i = list[0]?.dataIndex ?? 0;
    return h(
      'div',
      { class: 'gh-tooltip' },
      h('div', { class: 'gh-tooltip__title' }, formatBucket(s.labels[i], s.interval, true)),
      h('div', { class: 'gh-tooltip__row' }, h('span', { class: 'gh-tooltip__key' }, METRIC_LABELS[s.metric]), h('strong', null, formatMetric(s.metric, s.current[i]))),
      s.previous && s.previous[i] != null
        ? h(
            'div',
            { class: 'gh-tooltip__row gh-tooltip__row--previous' },
            h('span', { class: 'gh-tooltip__key' }, s.previousLabels[i] ? formatBucket(s.previousLabels[i], s.interval, true) : 'Previous period'),
            h('strong', null, formatMetric(s.metric, s.previous[i])),
          )
        : null,
      s.notes[i]?.map((n) => h('div', { class: 'gh-tooltip__note' }, n)) ?? null,
    );
  };
  const series: echarts.EChartsCoreOption['series'] = [
    {
      type: 'line',
      name: s.currentName,
      // Buckets that have not begun yet are gaps, not zeros.
      data: s.current.map((v, i) => (parseApiDate(s.labels[i]).getTime() > Date.now() ? null : v)),
      symbol: 'circle',
      symbolSize: 6,
      showSymbol: s.labels.length <= 31,
      lineStyle: { color: BLUE, width: 3 },
      itemStyle: { color: BLUE },
      areaStyle: { color: 'rgba(29, 112, 184, 0.12)' },
      emphasis: { focus: 'none', scale: 1.6 },
      z: 3,
      markArea: importedArea(s),
      markLine: noteLines(s),
    },
  ];
  if (s.previous) {
    (series as unknown[]).push({
      type: 'line',
      name: s.previousName,
      data: s.previous.slice(0, s.labels.length),
      symbol: 'none',
      lineStyle: { color: GREY, width: 2, type: 'dashed' },
      itemStyle: { color: GREY },
      emphasis: { disabled: true },
      z: 2,
    });
  }
  chart.setOption(
    {
      animationDuration: 300,
      textStyle: { fontFamily: FONT, color: TEXT },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      tooltip: {
        trigger: 'axis',
        formatter: tooltip,
        backgroundColor: '#ffffff',
        borderColor: TEXT,
        borderWidth: 1,
        padding: [8, 12],
        textStyle: { color: TEXT, fontFamily: FONT, fontSize: 16 },
        axisPointer: { type: 'line', lineStyle: { color: TEXT, width: 1 } },
        confine: true,
      },
      xAxis: {
        type: 'category',
        boundaryGap: false,
        data: s.labels.map((l) => formatBucket(l, s.interval)),
        axisLine: { lineStyle: { color: BORDER } },
        axisTick: { show: false },
        axisLabel: { color: GREY, fontSize: 14, hideOverlap: true, margin: 12, interval: narrow ? 'auto' : undefined },
      },
      yAxis: {
        type: 'value',
        minInterval: s.metric === 'views_per_visit' ? undefined : 1,
        max: s.metric === 'bounce_rate' ? 100 : undefined,
        splitNumber: 4,
        splitLine: { lineStyle: { color: '#e5e6e7' } },
        axisLabel: { color: GREY, fontSize: 14, formatter: (v: number) => formatMetricShort(s.metric, v) },
      },
      series,
    },
    { notMerge: true },
  );
}

/** The buckets imported from Plausible, shaded and labelled. */
function importedArea(s: Series): object | undefined {
  const first = s.imported.indexOf(true);
  if (first < 0) return undefined;
  const last = s.imported.lastIndexOf(true);
  const at = (i: number) => formatBucket(s.labels[i], s.interval);
  return {
    silent: true,
    itemStyle: { color: 'rgba(80, 90, 95, 0.1)' },
    label: { show: true, position: 'insideTop', color: GREY, fontSize: 14, formatter: 'Imported' },
    data: [[{ xAxis: at(first) }, { xAxis: at(last) }]],
  };
}

/** A dashed line at each bucket with annotations. */
function noteLines(s: Series): object | undefined {
  const at = s.notes.flatMap((n, i) => (n.length ? [{ xAxis: formatBucket(s.labels[i], s.interval) }] : []));
  if (!at.length) return undefined;
  return {
    silent: true,
    symbol: 'none',
    lineStyle: { color: TEXT, type: 'dashed', width: 1 },
    label: { show: true, position: 'end', formatter: 'Note', color: TEXT, fontSize: 12 },
    data: at,
  };
}
