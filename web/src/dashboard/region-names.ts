// Names of first-level regions (ISO 3166-2 codes such as GB-SCT), from the
// table the server uses to turn DB-IP's English names into codes. Loaded
// only when the Regions tab is opened.
import table from '../../../crates/model/data/regions.tsv?raw';
import { countryName } from './format';

const names = new Map<string, string>();
for (const line of table.split('\n')) {
  if (!line || line.startsWith('#')) continue;
  const [, name, code] = line.split('\t');
  if (code && !names.has(code)) names.set(code, name);
}

/** "Scotland, United Kingdom" for GB-SCT; the code itself if unknown. */
export function regionName(code: string): string {
  const name = names.get(code);
  const country = countryName(code.split('-')[0]);
  return name ? `${name}, ${country}` : code;
}
