def test_minted_license_is_listed(http, catalog, mint):
    minted = mint(catalog)
    listed = http.get(f"/api/{catalog.tenant.tenant_id}/licenses", headers=catalog.tenant.headers)
    assert listed.status_code == 200
    assert [item["license_id"] for item in listed.json()["data"]] == [minted["license_id"]]
