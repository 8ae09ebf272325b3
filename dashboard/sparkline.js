// A small chart card: the latest figure in large type and a line of the recent ones as inline SVG.
// The figure is text, so a screen reader or a glance gets the number without reading the line.

const SVG = 'http://www.w3.org/2000/svg';
const WIDTH = 160;
const HEIGHT = 40;

export class Sparkline {
  constructor(list, { title, unit, points = 60 }) {
    this.points = points;
    this.values = [];
    this.item = document.createElement('li');
    this.item.className = 'chart';
    const heading = document.createElement('h3');
    heading.textContent = title;
    this.figure = document.createElement('p');
    this.figure.className = 'figure';
    this.figure.textContent = '–';
    this.unit = unit;
    this.svg = document.createElementNS(SVG, 'svg');
    this.svg.setAttribute('viewBox', `0 0 ${WIDTH} ${HEIGHT}`);
    this.svg.setAttribute('preserveAspectRatio', 'none');
    this.svg.setAttribute('aria-hidden', 'true');
    this.line = document.createElementNS(SVG, 'polyline');
    this.svg.append(this.line);
    this.peak = document.createElement('p');
    this.peak.className = 'hint';
    this.item.append(heading, this.figure, this.svg, this.peak);
    list.append(this.item);
  }

  /** Adds the newest value (null: nothing to measure in that window). */
  push(value) {
    this.values.push(value);
    if (this.values.length > this.points) this.values.shift();
    this.figure.textContent = value === null ? '–' : `${format(value)} ${this.unit}`;
    const known = this.values.filter((v) => v !== null);
    const max = Math.max(...known, 0);
    this.peak.textContent = known.length ? `peak ${format(max)} ${this.unit}` : '';
    const step = WIDTH / (this.points - 1);
    const offset = this.points - this.values.length;
    this.line.setAttribute(
      'points',
      this.values.map((v, i) => `${((offset + i) * step).toFixed(1)},${(HEIGHT - 2 - ((v ?? 0) / (max || 1)) * (HEIGHT - 4)).toFixed(1)}`).join(' '),
    );
  }
}

function format(value) {
  if (value >= 100) return Math.round(value).toLocaleString('en');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}
