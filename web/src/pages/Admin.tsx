import { Link } from "../components/Link";
import { AdminConsole } from "./AdminConsole";
import { AdminCustomers } from "./AdminCustomers";
import { AdminProducts } from "./AdminProducts";
import { AdminWebhooks } from "./AdminWebhooks";

const TABS = [
  { id: "products", label: "Products" },
  { id: "customers", label: "Customers" },
  { id: "webhooks", label: "Webhooks" },
  { id: "console", label: "Console" },
] as const;

/** The admin area (loaded on demand: see App.tsx). */
export default function AdminPage({ tab }: { tab: string }) {
  const current = TABS.find((t) => t.id === tab) ?? TABS[0];
  return (
    <>
      <title>{`Admin · ${current.label} · ShopMesh`}</title>
      <h1>Administration</h1>
      <nav className="subnav" aria-label="Admin sections">
        {TABS.map((t) => (
          <Link key={t.id} href={`/admin/${t.id}`} className="subnav-link" aria-current={t.id === current.id ? "page" : undefined}>
            {t.label}
          </Link>
        ))}
      </nav>
      {current.id === "products" && <AdminProducts />}
      {current.id === "customers" && <AdminCustomers />}
      {current.id === "webhooks" && <AdminWebhooks />}
      {current.id === "console" && <AdminConsole />}
    </>
  );
}
