/** Integer money units → exact decimal text for PostgreSQL numeric (123456, 4 → "12.3456"). */
export function unitsToDecimal(units: number, decimals: number): string {
  if (decimals === 0) return String(units);
  const sign = units < 0 ? '-' : '';
  const digits = String(Math.abs(units)).padStart(decimals + 1, '0');
  return `${sign}${digits.slice(0, -decimals)}.${digits.slice(-decimals)}`;
}
