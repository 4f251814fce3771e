// Measurements in image coordinates (column x, row y, in pixels), converted to millimetres with the
// instance's Pixel Spacing ([row spacing, column spacing]: the distance between rows is the
// vertical size of a pixel, between columns the horizontal one).

/** Length between image points a and b: `{value, unit}` in mm, or in pixels without spacing. */
export function length(a, b, spacing) {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  if (Array.isArray(spacing) && spacing.length === 2 && spacing[0] > 0 && spacing[1] > 0) {
    const [rowSpacing, colSpacing] = spacing;
    return { value: Math.hypot(dx * colSpacing, dy * rowSpacing), unit: 'mm' };
  }
  return { value: Math.hypot(dx, dy), unit: 'px' };
}

/** Angle at vertex b between the rays b→a and b→c, in degrees (0…180), in physical space. */
export function angle(a, b, c, spacing) {
  const [sy, sx] = Array.isArray(spacing) && spacing.length === 2 && spacing[0] > 0 && spacing[1] > 0 ? spacing : [1, 1];
  const ux = (a.x - b.x) * sx;
  const uy = (a.y - b.y) * sy;
  const vx = (c.x - b.x) * sx;
  const vy = (c.y - b.y) * sy;
  const nu = Math.hypot(ux, uy);
  const nv = Math.hypot(vx, vy);
  if (nu === 0 || nv === 0) return { value: 0, unit: '°' };
  const cos = Math.min(1, Math.max(-1, (ux * vx + uy * vy) / (nu * nv)));
  return { value: (Math.acos(cos) * 180) / Math.PI, unit: '°' };
}

/** The text a measurement shows: "Length 42.3 mm", "Angle 87.5°". */
export function label(m) {
  if (m.type === 'length') return `Length ${m.value.toFixed(m.unit === 'mm' ? 1 : 0)} ${m.unit}`;
  return `Angle ${m.value.toFixed(1)}°`;
}
