// What a tap or click on the map opens: the store or region drawn there, or at the nation the
// region of the province clicked.
import { regionOfProvince } from './charts/map-option.js';
import type { ViewModel } from './view-model.js';

export function openFromMap(params: Record<string, unknown>, model: ViewModel | null, view: { openStore(id: string): unknown; openRegion(id: string): unknown }): void {
  const data = params.data as { regionId?: string; storeId?: string } | undefined;
  if (data?.storeId) return void view.openStore(data.storeId);
  if (data?.regionId) return void view.openRegion(data.regionId);
  if (model?.level === 'nation' && typeof params.name === 'string') {
    const region = regionOfProvince(params.name, model.children);
    if (region) void view.openRegion(region);
  }
}
