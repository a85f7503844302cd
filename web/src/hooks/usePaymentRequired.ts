import type { OrderSettings } from "../lib/types";
import { useAuth } from "./auth";
import { useResource } from "./useResource";

/**
 * Whether this shop charges orders to the payments limit before it ships them
 * (`ORDERS_REQUIRE_PAYMENT`); undefined until orders has said (or when it could not).
 */
export function usePaymentRequired(): boolean | undefined {
  const { api, session } = useAuth();
  const settings = useResource(session ? `order-settings-${session.id}` : null, (signal) =>
    api.get<OrderSettings>("/api/orders/settings", { signal }),
  );
  return settings.data?.payment_required;
}
