"""The demo catalog: 240 products with EAN-13 barcodes and stock, a manager and a cashier.

Demo PINs (the README gives them): manager Ana 1234, cashier Luis 0000.
"""

from __future__ import annotations

from .importing import ImportRow, import_rows
from .ports import Store
from .users import create_user

MANAGER = ("Ana", "1234")
CASHIER = ("Luis", "0000")

# (category, tax rate in basis points, items as (name, price in minor units))
CATALOG: tuple[tuple[str, int, tuple[tuple[str, int], ...]], ...] = (
    (
        "Abarrotes",
        0,
        (
            ("Arroz 1 kg", 3290),
            ("Frijol negro 1 kg", 4150),
            ("Azúcar 1 kg", 3590),
            ("Sal 1 kg", 1290),
            ("Aceite 1 l", 5490),
            ("Harina de maíz 1 kg", 2390),
            ("Pasta spaghetti 200 g", 1190),
            ("Atún en lata 140 g", 2450),
            ("Lentejas 500 g", 2890),
            ("Avena 400 g", 2690),
        ),
    ),
    (
        "Lácteos",
        0,
        (
            ("Leche entera 1 l", 2890),
            ("Leche deslactosada 1 l", 3090),
            ("Yogur natural 1 kg", 4590),
            ("Queso fresco 400 g", 6990),
            ("Mantequilla 90 g", 2490),
            ("Crema 200 ml", 2190),
            ("Queso Oaxaca 250 g", 5890),
            ("Huevo 12 pzas", 4290),
            ("Jocoque 250 g", 3190),
            ("Leche en polvo 360 g", 8990),
        ),
    ),
    (
        "Bebidas",
        1600,
        (
            ("Agua natural 1.5 l", 1590),
            ("Refresco cola 600 ml", 1990),
            ("Jugo de naranja 1 l", 3490),
            ("Agua mineral 600 ml", 1690),
            ("Té helado 500 ml", 1890),
            ("Bebida isotónica 1 l", 2690),
            ("Café soluble 100 g", 8990),
            ("Refresco limón 2 l", 3690),
            ("Agua de coco 330 ml", 2590),
            ("Energética 473 ml", 3490),
        ),
    ),
    (
        "Botanas",
        1600,
        (
            ("Papas fritas 45 g", 1890),
            ("Cacahuates 100 g", 2190),
            ("Palomitas 80 g", 1590),
            ("Galletas de avena 300 g", 3290),
            ("Chocolate 40 g", 1790),
            ("Gomitas 100 g", 1690),
            ("Totopos 200 g", 2490),
            ("Pretzels 150 g", 2790),
            ("Barra de granola", 1290),
            ("Semillas de girasol 100 g", 1990),
        ),
    ),
    (
        "Panadería",
        0,
        (
            ("Pan blanco 680 g", 4590),
            ("Pan integral 680 g", 4990),
            ("Bolillo", 350),
            ("Concha", 950),
            ("Tortillas de harina 10 pzas", 3290),
            ("Pan dulce surtido", 1190),
            ("Cuernito", 1090),
            ("Baguette", 2890),
            ("Galletas de mantequilla", 2390),
            ("Tostadas 300 g", 2990),
        ),
    ),
    (
        "Frutas y verduras",
        0,
        (
            ("Plátano 1 kg", 2290),
            ("Manzana 1 kg", 4990),
            ("Jitomate 1 kg", 3490),
            ("Cebolla 1 kg", 2890),
            ("Aguacate 1 kg", 6990),
            ("Limón 1 kg", 3290),
            ("Papa 1 kg", 2990),
            ("Zanahoria 1 kg", 1990),
            ("Naranja 1 kg", 2490),
            ("Chile serrano 250 g", 1490),
        ),
    ),
    (
        "Limpieza",
        1600,
        (
            ("Detergente 1 kg", 4990),
            ("Jabón de trastes 750 ml", 3290),
            ("Cloro 1 l", 1990),
            ("Suavizante 850 ml", 3890),
            ("Limpiador multiusos 1 l", 3490),
            ("Fibra verde", 990),
            ("Bolsas de basura 10 pzas", 2990),
            ("Papel higiénico 4 rollos", 3990),
            ("Servilletas 200 pzas", 2490),
            ("Escoba", 8990),
        ),
    ),
    (
        "Cuidado personal",
        1600,
        (
            ("Jabón de tocador", 1890),
            ("Shampoo 400 ml", 5990),
            ("Pasta dental 100 ml", 3290),
            ("Desodorante 150 ml", 5490),
            ("Cepillo dental", 2490),
            ("Crema corporal 400 ml", 6990),
            ("Toallas húmedas 80 pzas", 4290),
            ("Rastrillo 2 pzas", 3990),
            ("Algodón 100 g", 2290),
            ("Gel antibacterial 250 ml", 3490),
        ),
    ),
)
SIZES = (("", 100), (" (paquete 3)", 285), (" (caja 12)", 1080))


def ean13(body12: str) -> str:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def demo_rows() -> list[ImportRow]:
    rows: list[ImportRow] = []
    n = 0
    for c, (category, rate, items) in enumerate(CATALOG):
        for i, (name, price) in enumerate(items):
            for s, (suffix, factor) in enumerate(SIZES):
                n += 1
                sku = f"{category[:3].upper()}-{i + 1:02d}{'ABC'[s]}".replace("Á", "A")
                barcode = ean13(f"750{c + 1:02d}{i + 1:03d}{s:04d}")
                stock = 5 + (n * 37) % 90
                rows.append(
                    ImportRow(n + 1, sku, [barcode], name + suffix, price * factor // 100, rate, stock, category)
                )
    return rows


def load_demo(store: Store) -> bool:
    """Load the demo catalog and users into an empty till; returns False if the till already has data."""
    with store.read() as tx:
        if tx.count_products() or tx.count_users():
            return False
    create_user(store, "system", name=MANAGER[0], role="manager", pin=MANAGER[1], user_id="ana")
    create_user(store, "system", name=CASHIER[0], role="cashier", pin=CASHIER[1], user_id="luis")
    import_rows(store, "system", demo_rows())
    return True
