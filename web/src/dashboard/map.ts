// The maps of visitors, loaded only when a map is shown: ECharts' map series
// over Natural Earth's public-domain outlines. The world map (world-atlas,
// 1:110m) is keyed by ISO 3166-1 alpha-2 codes; the UK's four nations (1:50m
// map units, made by scripts/uk-nations-map.R) by ISO 3166-2 codes, as our
// data names countries and regions.
import { MapChart } from 'echarts/charts';
import { TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { SVGRenderer } from 'echarts/renderers';
import codes from 'i18n-iso-countries/codes.json';
import { feature } from 'topojson-client';
import type { Geometry } from 'geojson';
import type { GeometryCollection, Topology } from 'topojson-specification';
import world from 'world-atlas/countries-110m.json';
import { BORDER, FONT, TEXT, instance } from './chart';
import { h } from './dom';
import { formatNumber } from './format';
import ukNations from './uk-nations.geo.json';

echarts.use([MapChart, TooltipComponent, SVGRenderer]);

/** The maps that can be drawn: the world by country, the UK by nation. */
export type MapName = 'world' | 'uk-nations';

const registered = new Set<MapName>();

type Ring = number[][];

/**
 * Natural Earth keeps rings that cross the antimeridian (Russia, Fiji) whole,
 * which a flat projection draws as a line across the world; move their
 * western points east instead.
 */
function unwrapRing(ring: Ring): Ring {
  const crosses = ring.some((p, i) => i > 0 && Math.abs(p[0] - ring[i - 1][0]) > 180);
  return crosses ? ring.map(([x, y]) => [x < 0 ? x + 360 : x, y]) : ring;
}

function unwrap(g: Geometry): Geometry {
  if (g.type === 'Polygon') return { ...g, coordinates: g.coordinates.map(unwrapRing) };
  if (g.type === 'MultiPolygon') return { ...g, coordinates: g.coordinates.map((poly) => poly.map(unwrapRing)) };
  return g;
}

function registerWorld(): void {
  const alpha2 = new Map<string, string>((codes as string[][]).map(([a2, , num]) => [num, a2]));
  const byName: Record<string, string> = { Kosovo: 'XK', 'N. Cyprus': 'CY', Somaliland: 'SO' };
  const topo = world as unknown as Topology<{ countries: GeometryCollection<{ name: string }> }>;
  const geo = feature(topo, topo.objects.countries);
  geo.features = geo.features
    .filter((f) => f.id !== '010') // Antarctica: a lot of white for no visitors
    .map((f) => ({
      ...f,
      geometry: unwrap(f.geometry),
      properties: { name: alpha2.get(String(f.id)) ?? byName[f.properties?.name ?? ''] ?? String(f.id) },
    }));
  echarts.registerMap('world', geo as never);
}

function register(name: MapName): void {
  if (registered.has(name)) return;
  if (name === 'world') registerWorld();
  else echarts.registerMap(name, ukNations as never);
  registered.add(name);
}

/** Light to GOV.UK blue, by the square root of the share of the largest. */
function shade(share: number): string {
  const from = [210, 226, 241];
  const to = [29, 112, 184];
  const t = Math.sqrt(Math.max(0, Math.min(1, share)));
  const c = from.map((f, i) => Math.round(f + (to[i] - f) * t));
  return `rgb(${c.join(',')})`;
}

/**
 * Shades each area by its visitors; `rows` carry the codes the map is keyed
 * by, and `label` names a code as people read it (in the tooltip).
 */
export function drawMap(el: HTMLElement, map: MapName, rows: { code: string; visitors: number }[], label: (code: string) => string): void {
  register(map);
  const chart = instance(el);
  const max = Math.max(1, ...rows.map((r) => r.visitors));
  chart.setOption(
    {
      textStyle: { fontFamily: FONT, color: TEXT },
      tooltip: {
        trigger: 'item',
        backgroundColor: '#ffffff',
        borderColor: TEXT,
        borderWidth: 1,
        padding: [8, 12],
        textStyle: { color: TEXT, fontFamily: FONT, fontSize: 16 },
        confine: true,
        formatter: (p: unknown) => {
          const { name, value } = p as { name: string; value?: number };
          return h(
            'div',
            { class: 'gh-tooltip' },
            h('div', { class: 'gh-tooltip__title' }, label(name)),
            h('div', { class: 'gh-tooltip__row' }, h('span', { class: 'gh-tooltip__key' }, 'Visitors'), h('strong', null, formatNumber(Number(value) || 0))),
          );
        },
      },
      series: [
        {
          type: 'map',
          map,
          roam: false,
          selectedMode: false,
          // Degrees of longitude are shorter than of latitude: about 0.9 on
          // average over the world, 0.6 at the UK's latitudes.
          aspectScale: map === 'world' ? 0.9 : 0.6,
          // The world fills the box; the UK keeps its shape, centred in it.
          ...(map === 'world' ? { left: 0, right: 0, top: 4, bottom: 4 } : { layoutCenter: ['50%', '50%'], layoutSize: '96%' }),
          itemStyle: { areaColor: '#f3f2f1', borderColor: BORDER, borderWidth: 0.5 },
          emphasis: { label: { show: false }, itemStyle: { areaColor: '#ffdd00', borderColor: TEXT, borderWidth: 1 } },
          label: { show: false },
          data: rows.map((r) => ({ name: r.code, value: r.visitors, itemStyle: { areaColor: shade(r.visitors / max) } })),
        },
      ],
    },
    { notMerge: true },
  );
}
