from presale_erp.cli import app

app(prog_name="presale-erp")
