dx
//# sourceMappingURL=data:application/json,%7B%22version%22%3A3%2C%22sources%22%3A%5B%22a%22%5D%2C%22mappings%22%3A%22AAAA%3BACAC%22%7D
